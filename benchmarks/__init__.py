"""Speed measurements against the reference libraries (`make bench`)."""
