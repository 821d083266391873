#!/usr/bin/env python3
"""Writes the benchmark's rows as COPY input for the same tables the import
fills (customer, contact, revenue_entry), with explicit ids from START and
owners by id, so COPY loads exactly what the import loads.

usage: copy_files.py OUT_DIR CUSTOMERS START OWNER_IDS(comma-separated, the six reps in generate.py's order)
"""
import os
import sys

out, customers, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
owners = [int(x) for x in sys.argv[4].split(",")]
levels = ["EXECUTIVE", "MANAGEMENT", "PURCHASING"]
months = [f"{2022 + m // 12}-{m % 12 + 1:02d}-01" for m in range(40)]
now = "2026-12-05 00:00:00+00"
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "customer.csv"), "w") as f:
    for i in range(customers):
        f.write(f"{start + i},Customer {i},Retail,Region {i % 7},ACTIVE,{owners[i % 6]},MEDIUM,2021-{i % 12 + 1:02d}-01,{now},{now}\n")
with open(os.path.join(out, "contact.csv"), "w") as f:
    for i in range(customers):
        for k in range(3):
            f.write(f"{start + i * 3 + k},{start + i},Person {i} {k},Title {k},{levels[k]},p{i}.{k}@example.com,{now},{now}\n")
with open(os.path.join(out, "revenue_entry.csv"), "w") as f:
    for i in range(customers):
        base = 1000 + i % 5000
        for m, month in enumerate(months):
            f.write(f"{start + i},{month},{(base + m) * 100 + 50},{(base // 4) * 100 + 25},{now},{now}\n")
