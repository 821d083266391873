#!/usr/bin/env python3
"""The duplicate benchmark's book: 100,000 customers, 2% of them planted duplicates of others.

Writes, into the folder given, customers.csv (id, name, owner_id), contacts.csv (customer_id, name,
email, phone) and truth.csv (original id, duplicate id). Deterministic (seeded).

Companies are named as companies are: a family or brand name, often a trade, often a legal form
("Varkon Logistics GmbH", "Brelli & Sons", "Tamsu Foods"). Each has one to three contacts with
e-mails at the company's own domain. The 2,000 duplicates are made of 2,000 distinct originals, the
way duplicates are made in practice:
  35% the name retyped: other case, other or no legal form, punctuation;
  30% one typing mistake in the name (a letter left out, doubled, swapped or replaced);
  15% the words in another order;
  20% a different name altogether (a trading name), sharing a buyer's e-mail with the original.
Half of the first three kinds also got a contact at the company's domain.
"""
import csv
import os
import random
import sys

rng = random.Random(2026)
out = sys.argv[1]
TOTAL, DUPLICATES = 100_000, 2_000
ORIGINALS = TOTAL - DUPLICATES

onsets = ["b", "br", "c", "d", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "tr", "v", "w", "z"]
vowels = ["a", "e", "i", "o", "u", "ei", "ou", "y"]
codas = ["", "", "n", "r", "l", "s", "m", "k", "x", "nd", "rt", "ll"]
trades = ["Logistics", "Foods", "Metals", "Plastics", "Textiles", "Pharma", "Retail", "Trading", "Systems", "Motors",
          "Electric", "Chemicals", "Paper", "Glass", "Timber", "Dairy", "Bakery", "Optics", "Tools", "Freight",
          "Energy", "Software", "Medical", "Farms", "Brewing", "Fashion", "Furniture", "Printing", "Marine", "Aviation"]
forms = ["", "", "GmbH", "AG", "Ltd", "Inc.", "LLC", "S.A.", "B.V.", "& Co.", "Group", "& Sons"]
first_names = ["Ana", "Ben", "Chloe", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kira", "Luca", "Mia",
               "Nils", "Olga", "Pia", "Raul", "Sara", "Tom", "Uma", "Vera", "Will", "Yara", "Zoe"]
last_names = ["Moreau", "Schmidt", "Rossi", "Novak", "Silva", "Berg", "Costa", "Dubois", "Eriksen", "Fischer",
              "Garcia", "Horvat", "Jansen", "Kowalski", "Lindqvist", "Meyer", "Nowak", "Olsen", "Petrov", "Quinn"]


def word():
    return "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.choice([2, 2, 3]))).capitalize()


names, seen = [], set()
while len(names) < ORIGINALS:
    brand = word()
    parts = [brand] + ([rng.choice(trades)] if rng.random() < 0.8 else [])
    key = " ".join(parts).lower()
    if key in seen:
        continue
    seen.add(key)
    form = rng.choice(forms)
    names.append((parts, form))


def display(parts, form):
    return " ".join(parts + ([form] if form else []))


def typo(text):
    letters = list(text)
    i = rng.randrange(1, len(letters) - 1)
    kind = rng.choice(["drop", "double", "swap", "replace"])
    if kind == "drop":
        del letters[i]
    elif kind == "double":
        letters.insert(i, letters[i])
    elif kind == "swap":
        letters[i], letters[i + 1 if i + 1 < len(letters) else i - 1] = letters[i + 1 if i + 1 < len(letters) else i - 1], letters[i]
    else:
        letters[i] = rng.choice("aeioulnrst".replace(letters[i].lower(), ""))
    return "".join(letters)


customers, contacts, truth = [], [], []
domain_of = {}
for i, (parts, form) in enumerate(names, start=1):
    customers.append((i, display(parts, form), 2 + i % 100))
    domain = "".join(parts).lower() + str(i) + ".example.com"
    domain_of[i] = domain
    for _ in range(rng.choice([1, 1, 2, 3])):
        first, last = rng.choice(first_names), rng.choice(last_names)
        contacts.append((i, f"{first} {last}", f"{first.lower()}.{last.lower()}@{domain}",
                         f"+49 {rng.randrange(100, 999)} {rng.randrange(1000000, 9999999)}"))

originals = rng.sample(range(1, ORIGINALS + 1), DUPLICATES)
for n, original in enumerate(originals):
    new_id = ORIGINALS + 1 + n
    parts, form = names[original - 1]
    roll = rng.random()
    if roll < 0.35:
        name = display(parts, rng.choice([f for f in forms if f != form]))
        name = rng.choice([name.upper(), name.lower(), name.replace(" ", ", ", 1), name])
    elif roll < 0.65:
        name = display([typo(parts[0])] + parts[1:], form)
    elif roll < 0.80 and len(parts) > 1:
        name = display(list(reversed(parts)), rng.choice(forms))
    else:
        name = word() + " " + rng.choice(["Holdings", "Direct", "International", "Partners"])
        buyer = next(c for c in contacts if c[0] == original) if roll >= 0.80 else None
        if buyer is None:
            buyer = next(c for c in contacts if c[0] == original)
        contacts.append((new_id, buyer[1], buyer[2], ""))
        customers.append((new_id, name, 2 + original % 100))
        truth.append((original, new_id))
        continue
    customers.append((new_id, name, 2 + original % 100))
    truth.append((original, new_id))
    if rng.random() < 0.5:
        contacts.append((new_id, "Front Desk", f"info@{domain_of[original]}", ""))

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "customers.csv"), "w", newline="") as f:
    csv.writer(f).writerows(customers)
with open(os.path.join(out, "contacts.csv"), "w", newline="") as f:
    csv.writer(f).writerows(contacts)
with open(os.path.join(out, "truth.csv"), "w", newline="") as f:
    csv.writer(f).writerows(truth)
print(f"{len(customers)} customers, {len(contacts)} contacts, {len(truth)} planted duplicates", file=sys.stderr)
