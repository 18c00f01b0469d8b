"""Cross-request batching: the documents of concurrent requests tagged by one tagger call.

Every request puts its documents on one bounded asyncio queue and waits. One worker takes the
oldest request, then as many more as are queued (waiting at most `max_wait` seconds for more
when the queue runs dry) until `max_batch` documents are gathered, and tags them all with one
call in a thread of its own, so that the event loop keeps reading and answering requests
meanwhile. The tagger then sorts all their sentences by length and runs them through the encoder
in shared batches: one request of one abstract costs little more, under load, than a share of a
full batch. A request is never split (one of more than `max_batch` documents is a call of its
own); a request whose client has gone is dropped before it is tagged.

A full queue refuses at once (`QueueFull`, which the service answers with 503 and Retry-After)
rather than letting latency grow without bound. When a call fails on bad input (`ValueError`)
the requests of that call are tagged again one at a time, so that only the request at fault
gets the error.
"""
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

TagFunction = Callable[[List[Dict[str, Any]]], List[Dict[str, Any]]]
"""Tags documents: one record per document, in order (`Tagger.tag_documents`)."""


class QueueFull(Exception):
    """The queue holds `queue_size` requests: the service is saturated."""


@dataclass
class _Job:
    documents: List[Dict[str, Any]]
    future: "asyncio.Future[List[Dict[str, Any]]]"


@dataclass
class BatchStats:
    """What the worker has done: tagger `calls`, the `requests`, `documents` and `sentences`
    they tagged, `refused` requests (queue full), `busy_seconds` spent in the tagger and the
    `largest_call` (documents)."""

    calls: int = 0
    requests: int = 0
    documents: int = 0
    sentences: int = 0
    refused: int = 0
    busy_seconds: float = 0.0
    largest_call: int = 0

    def to_json(self) -> Dict[str, Any]:
        return {
            "calls": self.calls,
            "requests": self.requests,
            "documents": self.documents,
            "sentences": self.sentences,
            "refused": self.refused,
            "busy_seconds": round(self.busy_seconds, 3),
            "largest_call": self.largest_call,
            "documents_per_call": round(self.documents / self.calls, 3) if self.calls else None,
        }


class Batcher:
    """Tags the documents of concurrent requests together (see the module docstring).

    # Parameters

    tag : `TagFunction`
        Tags a list of documents (e.g. `Tagger.tag_documents`); called from one worker thread,
        one call at a time.
    max_batch : `int`, optional (default = `64`)
        Most documents of one call (a larger request is a call of its own).
    max_wait : `float`, optional (default = `0.005`)
        Most seconds the worker waits for more requests once the queue is empty.
    queue_size : `int`, optional (default = `256`)
        Most requests waiting; one more is refused with `QueueFull`.
    """

    def __init__(
        self, tag: TagFunction, max_batch: int = 64, max_wait: float = 0.005, queue_size: int = 256
    ) -> None:
        if max_batch < 1 or queue_size < 1 or max_wait < 0:
            raise ValueError(
                f"max_batch and queue_size must be at least 1 and max_wait at least 0, got "
                f"{max_batch}, {queue_size} and {max_wait}."
            )
        self._tag = tag
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.queue_size = queue_size
        self.stats = BatchStats()
        self._queue: Optional[asyncio.Queue[_Job]] = None
        self._carried: Optional[_Job] = None
        self._worker: Optional[asyncio.Task[None]] = None
        self._executor: Optional[ThreadPoolExecutor] = None

    @property
    def waiting(self) -> int:
        """Requests in the queue (not yet taken by the worker)."""
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        """Starts the worker (in the running event loop)."""
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bioner-tagger")
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stops the worker; requests still waiting are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._carried is not None:
            self._carried.future.cancel()
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def tag(self, documents: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The records of `documents`, tagged with other requests' documents. Raises
        `QueueFull` when `queue_size` requests are waiting, and what the tagger raises."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() was not called.")
        if not documents:
            return []
        job = _Job(documents, asyncio.get_running_loop().create_future())
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.stats.refused += 1
            raise QueueFull() from None
        return await job.future

    async def _run(self) -> None:
        while True:
            jobs = await self._gather()
            jobs = [job for job in jobs if not job.future.done()]  # their clients are gone
            if jobs:
                await self._tag_jobs(jobs)

    async def _gather(self) -> List[_Job]:
        """The next call's requests: the oldest, then more until `max_batch` documents."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        first, self._carried = self._carried or await self._queue.get(), None
        jobs, count = [first], len(first.documents)
        deadline = loop.time() + self.max_wait
        while count < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            if count + len(job.documents) > self.max_batch:
                self._carried = job  # the first of the next call
                break
            jobs.append(job)
            count += len(job.documents)
        return jobs

    async def _tag_jobs(self, jobs: Sequence[_Job]) -> None:
        documents = [document for job in jobs for document in job.documents]
        try:
            records = await self._call(documents, len(jobs))
        except ValueError as error:
            if len(jobs) == 1:
                _settle(jobs[0], error=error)
            else:  # find the request at fault: the others still get their records
                for job in jobs:
                    await self._tag_jobs([job])
            return
        except Exception as error:  # a fault of the tagger: every request of the call fails
            for job in jobs:
                _settle(job, error=error)
            return
        first = 0
        for job in jobs:
            last = first + len(job.documents)
            _settle(job, records[first:last])
            first = last

    async def _call(self, documents: List[Dict[str, Any]], requests: int) -> List[Dict[str, Any]]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        records = await loop.run_in_executor(self._executor, self._tag, documents)
        if len(records) != len(documents):
            raise RuntimeError(f"the tagger gave {len(records)} records for {len(documents)} "
                               "documents")
        stats = self.stats
        stats.busy_seconds += time.perf_counter() - started
        stats.calls += 1
        stats.requests += requests
        stats.documents += len(documents)
        stats.sentences += sum(len(record.get("sentences", ())) for record in records)
        stats.largest_call = max(stats.largest_call, len(documents))
        return records


def _settle(
    job: _Job, records: Optional[List[Dict[str, Any]]] = None, error: Optional[BaseException] = None
) -> None:
    if job.future.done():  # the client went away meanwhile
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(records)
