"""Async jobs: deferred transcriptions that survive restarts, on one or many machines.

    service.py      JobService: submit / get / list / result / cancel / run_sync / ping
    store.py        Job, its state transitions, the JobStore protocol
    sqlite_store.py, redis_store.py   the two JobStore backends (embedded / distributed)
    queue.py        Huey delivery, one queue per model, JSON messages
    runner.py       running one job: claim, heartbeat, progress, cancel, outcome
    maintenance.py  reaper, lost-message re-sending, retention
    outage.py       an unreachable store or queue: logged once, waited out
    worker.py       worker pools: in-process (whisperd serve) and run_worker (whisperd worker)
    callbacks.py    callback_url checks and delivery
    client.py       HTTP client of /v1/jobs (whisperd submit)

Huey carries the "run job X" messages; whisperd's own job record (JobStore) is the
truth about each job, because Huey drops a message as soon as a worker takes it.
"""
