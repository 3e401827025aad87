# SPDX-License-Identifier: Apache-2.0
"""Reads a TensorBoard event file with TensorBoard's own Python loader
(EventFileLoader, as TensorBoard's backend does) and prints `result {json}`.

    read_tensorboard.py EVENT_FILE

Timed (wall and CPU): iterating every event and every scalar value in it.
Not timed: importing TensorBoard.
"""

import sys

from workload import Timer, report


def main():
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    path = sys.argv[1]
    points = 0
    with Timer() as t:
        for event in EventFileLoader(path).Load():
            if event.HasField("summary"):
                points += len(event.summary.value)
    if points == 0:
        sys.exit(f"read_tensorboard.py: no scalar values in {path}")
    report(items=points, cpu_s=t.cpu, wall_s=t.wall)


if __name__ == "__main__":
    main()
