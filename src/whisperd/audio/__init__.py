"""Uploads -> 16 kHz mono float32 samples (decode.py), and the limits on them (validate.py)."""
