"""The RQ worker entry point and the job functions it runs."""
