"""Periodic jobs shared by any number of workers: each run is claimed with a lease in the
`jobs` table, so one worker runs a job at a time and a worker that dies mid-run leaves
the job to be taken again when its lease runs out. Jobs themselves must be safe to rerun
(their money moves with ids derived from what they settle): a retried run never moves
money twice."""
