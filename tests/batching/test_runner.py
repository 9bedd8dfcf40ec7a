"""Running the jobs: any executor, chunks, a failed worker, an interrupted overwrite."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import many_photos, organiser_tree, photo

from blueheart import BadgeOptions, batch


def test_any_executor_runs_the_same_jobs(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    with ThreadPoolExecutor(2) as executor:
        report = batch(source, tmp_path / "out", executor=executor)
    assert report.counts == {"ok": 4, "skipped": 2, "failed": 1}


def test_a_failed_worker_fails_its_files_and_the_batch_goes_on(tmp_path: Path) -> None:
    from concurrent.futures import Future

    source = organiser_tree(tmp_path)

    class FirstChunkDies(ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.submitted += 1
            if self.submitted == 1:
                future: Future[object] = Future()
                future.set_exception(RuntimeError("worker killed by signal 9"))
                return future
            return super().submit(fn, *args, **kwargs)

    from blueheart.batching.plan import plan_batch
    from blueheart.batching.runner import run_jobs

    plan = plan_batch(source, tmp_path / "out", BadgeOptions(), overwrite=False)
    with FirstChunkDies(2) as executor:
        results = list(
            run_jobs(plan.jobs, BadgeOptions(), executor=executor, overwrite=False, chunk_size=2)
        )
    assert len(results) == len(plan.jobs)
    died = [r for r in results if "worker failed" in (r.error or "")]
    assert len(died) == 2 and all("signal 9" in (r.error or "") for r in died)


def test_chunks_shrink_toward_the_end_so_no_worker_waits_alone(tmp_path: Path) -> None:
    from blueheart.batching.records import Job
    from blueheart.batching.runner import _chunks

    jobs = []
    for index in range(60):
        path = tmp_path / f"{index:02d}.jpg"
        path.write_bytes(bytes(100_000))
        jobs.append(Job(str(path), str(tmp_path / "out" / path.name), str(tmp_path / "out")))
    chunks = list(_chunks(jobs, None, 2))
    assert [job for chunk in chunks for job in chunk] == jobs  # each once, in order
    assert len(chunks[0]) == 10  # about 1 MB while much is left
    sizes = [len(chunk) for chunk in chunks]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-3:] == [1, 1, 1]  # the last ones, one photo each
    assert [len(chunk) for chunk in _chunks(jobs, 7, 2)] == [7] * 8 + [4]


def test_an_interrupted_overwrite_reports_as_ok_only_the_outputs_it_wrote(tmp_path: Path) -> None:
    """Outputs the stopped run never reached keep the previous run's file, whatever its time
    says (here a day ahead, as a camera's or a server's clock may put it): not "ok"."""
    import threading

    source = many_photos(tmp_path, 60, (48, 32))
    destination = tmp_path / "out"
    destination.mkdir()
    previous = photo(20, 20, seed=9)
    ahead = time.time() + 86_400
    for input_path in source.iterdir():
        previous.save(destination / input_path.name)
        os.utime(destination / input_path.name, (ahead, ahead))
    before = {p.name: p.read_bytes() for p in destination.iterdir()}
    stop = threading.Event()
    report = batch(
        source, destination, overwrite=True, workers=2, stop=stop, progress=lambda _: stop.set()
    )
    assert report.interrupted
    written = {name for name, data in before.items() if (destination / name).read_bytes() != data}
    reported = {Path(str(r.output)).name for r in report.results if r.status == "ok"}
    assert len(written) < 60  # the stop came before the last chunks ran
    assert reported == written
