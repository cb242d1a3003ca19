"""Many recordings: discovery, a resumable state database, isolated workers (local or on
a Dask cluster), per-agent quotas, progress and a summary. See ``runner.run_batch``."""

from anonymizer.batch.runner import BatchOptions, Summary, run_batch

__all__ = ["BatchOptions", "Summary", "run_batch"]
