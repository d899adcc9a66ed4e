"""Slurm: schedulers and actions of a workflow, and the server-side allocator.

`models` (what a spec declares and what is stored), `shapes` (Slurm's time,
memory and GRES strings, and whether a job fits a scheduler: the one rule),
`commands` (the sbatch/squeue/scancel adapter), `script` (the batch script),
`allocator` (the loop that `serve --slurm` runs). docs/slurm.md explains it
to a user.
"""
