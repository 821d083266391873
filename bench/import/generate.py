#!/usr/bin/env python3
"""Writes the import benchmark's files: N customers, 3 contacts each, and
revenue for each customer over 40 months (so 100,000 customers give 300,000
contacts and 4,000,000 revenue rows). Owners are the demo's reps.

usage: generate.py OUT_DIR CUSTOMERS
"""
import os
import sys

out, customers = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
owners = [f"rep{n}.{team}@rapport.demo" for team in ("north", "south") for n in (1, 2, 3)]
levels = ["EXECUTIVE", "MANAGEMENT", "PURCHASING"]
months = [f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(40)]

with open(os.path.join(out, "customers.csv"), "w") as f:
    f.write("external_id,name,industry,region,status,customer_since,owner_email\n")
    for i in range(customers):
        f.write(f"C-{i},Customer {i},Retail,Region {i % 7},ACTIVE,2021-{i % 12 + 1:02d}-01,{owners[i % 6]}\n")
with open(os.path.join(out, "contacts.csv"), "w") as f:
    f.write("external_id,customer_external_id,name,title,org_level,email\n")
    for i in range(customers):
        for k in range(3):
            f.write(f"P-{i}-{k},C-{i},Person {i} {k},Title {k},{levels[k]},p{i}.{k}@example.com\n")
with open(os.path.join(out, "revenue.csv"), "w") as f:
    f.write("customer_external_id,month,revenue,gross_profit\n")
    for i in range(customers):
        base = 1000 + i % 5000
        for m, month in enumerate(months):
            f.write(f"C-{i},{month},{base + m}.50,{base // 4}.25\n")
