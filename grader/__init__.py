"""The kit's grader: runs each step's checks against a student's code, in a worker process.

Data flows one way: cli -> runner (one worker process per step) -> results (plain data)
-> render (terminal, JSON). The checks themselves live in grader/checks/.
"""

__version__ = "0.1.0"
