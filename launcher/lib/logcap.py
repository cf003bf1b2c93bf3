"""Copies a node's output (stdin) into its log file, keeping the log under a size cap.

Why: a node caught in a tight error loop (a poison message redelivered by RabbitMQ without
end) can write gigabytes a minute; the launcher must not let that fill the disk. When the
file passes MC_LOG_MAX_BYTES (default 200 MB) it becomes NAME.log.1 (NAME.log.2 ... up to
MC_LOG_KEEP, default 3, older ones are dropped) and a new NAME.log starts.

Usage: python3 logcap.py FILE   (exits when its input closes, i.e. when the node exits)
"""
import os
import sys

CHUNK = 64 * 1024


def rotate(path, keep):
    for index in range(keep, 0, -1):
        older = f"{path}.{index}"
        newer = path if index == 1 else f"{path}.{index - 1}"
        if os.path.exists(newer):
            os.replace(newer, older)


def main():
    path = sys.argv[1]
    limit = int(os.environ.get("MC_LOG_MAX_BYTES", 200 * 1024 * 1024))
    keep = int(os.environ.get("MC_LOG_KEEP", 3))
    source = sys.stdin.buffer
    out = open(path, "ab")
    while True:
        data = source.read1(CHUNK)
        if not data:
            break
        out.write(data)
        out.flush()
        if out.tell() >= limit:
            out.close()
            rotate(path, keep)
            out = open(path, "ab")
    out.close()


if __name__ == "__main__":
    main()
