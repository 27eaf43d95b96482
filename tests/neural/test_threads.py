"""The toolkit's CPU thread rule (toolkit/neural/device.py)."""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch")

from toolkit.neural import device  # noqa: E402


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv(device.THREADS_ENV, raising=False)
    monkeypatch.setattr(device, "_POLICY", device._ThreadPolicy())
    yield
    torch.set_num_threads(before)


def test_option_wins_then_environment(monkeypatch):
    monkeypatch.setenv(device.THREADS_ENV, "3")
    assert device.use_cpu_threads(2) == 2 == torch.get_num_threads()
    assert device.use_cpu_threads() == 3 == torch.get_num_threads()
    monkeypatch.setenv(device.THREADS_ENV, "zero")
    with pytest.raises(ValueError, match=device.THREADS_ENV):
        device.use_cpu_threads()


def test_free_cores_are_shared_among_concurrent_models(monkeypatch):
    monkeypatch.setattr(device, "free_cores", lambda: 4)
    assert device.use_cpu_threads() == 4  # alone: every free core
    counts = []
    ready = threading.Barrier(4)

    def model() -> None:
        ready.wait()
        counts.append(device.use_cpu_threads())
        ready.wait()  # every thread has run before any is counted out
        counts.append(device.use_cpu_threads())

    threads = [threading.Thread(target=model) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts[-4:] == [1, 1, 1, 1]  # five models in the last second (this one too): one core each


def test_waiting_for_a_quiet_machine_ends_once_the_cores_are_free_or_at_the_limit(monkeypatch):
    from toolkit import machine

    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    looks = iter([1, 1, 1])  # another process keeps a core busy for three looks, then leaves it
    monkeypatch.setattr(machine, "free_cores", lambda: next(looks, 2))
    assert machine.wait_until_quiet(5, every=0.001) < 1
    monkeypatch.setattr(machine, "free_cores", lambda: 1)  # never quiet: the limit ends the wait
    assert 0.05 <= machine.wait_until_quiet(0.05, every=0.001) < 1
