"""The chaos bench's own app: a side-effect job and a recording email backend (bench/chaos.py)."""
