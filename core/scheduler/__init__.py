"""Scheduled jobs: the runner (`runner`), the job functions (`jobs`), their once-per-tick locks
(`locks`), the smoke test (`smoke`) and where reports go (`notify`).

The job names live here, where importing them is cheap: `clixen --help` lists them without loading
APScheduler or SQLAlchemy.
"""

SMOKE_TEST = "smoke_test"
QUOTA_RESET = "quota_reset"
EXECUTION_WATCH = "execution_watch"
RUN_RECOVERY = "run_recovery"
PRUNE_ACTIONS = "prune_processed_actions"
TEST_COPY_SWEEP = "test_copy_sweep"
CONNECT_WATCH = "connect_watch"
RECONCILE = "reconcile"
DIGEST = "digest"
ALL_JOBS = (
    SMOKE_TEST,
    QUOTA_RESET,
    EXECUTION_WATCH,
    RUN_RECOVERY,
    PRUNE_ACTIONS,
    TEST_COPY_SWEEP,
    CONNECT_WATCH,
    RECONCILE,
    DIGEST,
)
