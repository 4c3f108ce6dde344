"""Real threads for the race tests: each job in its own app context (its own session and
connection, like a request in another process), all released together by a barrier."""
import threading

from portal.extensions import db


def run_at_once(app, jobs) -> list:
    """Run every job at once; return what each returned, or the exception it raised, in job order."""
    db.session.rollback()  # the test's own session holds no snapshot or lock while the threads run
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def worker(index, job):
        with app.app_context():
            try:
                barrier.wait()
                outcomes[index] = job()
            except Exception as error:  # noqa: BLE001 - the test judges whatever was raised
                outcomes[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting (a lock never released?)"
    return outcomes
