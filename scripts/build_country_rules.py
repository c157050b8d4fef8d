"""Build the shipped country rules and their coverage table, once, from cited readings.

    python scripts/build_country_rules.py          # writes the data file and docs/countries.md
    python scripts/build_country_rules.py --check  # exits 1 when either is out of date

Every region ``phonenumbers`` knows gets an entry (its name and calling code from
``phonenumbers``); each rule is ``null`` with the source "no public source read" unless
``CURATED`` below holds a reading of it: a value, the URL it was read from and the day it was
read. Several readings of one rule keep the first as the value acted on (list the most
restrictive first) and the others as ``alternatives``. Add a reading here, run the script, and
commit the three files together; ``tests/domain/test_country_rules.py`` checks they agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import geocoder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/smsrelay/domain/countries/rules.json"
DOC = ROOT / "docs/countries.md"
NO_SOURCE = "no public source read"
FIELDS = (
    "alphanumeric_sender",
    "numeric_sender_required",
    "two_way",
    "concatenation",
    "max_segments",
    "ucs2",
    "quiet_hours",
    "opt_out_text_required",
    "template_registration",
    "marketing_sender_tag",
)
NAMES = {"XK": "Kosovo", "AC": "Ascension Island", "TA": "Tristan da Cunha"}

sys.path.insert(0, str(Path(__file__).resolve().parent))
from country_readings import CURATED  # noqa: E402


def entries() -> dict[str, Any]:
    countries: dict[str, Any] = {}
    for iso in sorted(phonenumbers.SUPPORTED_REGIONS):
        name = NAMES.get(iso) or geocoder._region_display_name(iso, "en")
        readings = CURATED.get(iso, {})
        unknown = set(readings) - set(FIELDS)
        if unknown:
            raise SystemExit(f"{iso}: unknown fields {sorted(unknown)}")
        rules: dict[str, Any] = {}
        for field in FIELDS:
            found = readings.get(field) or []
            if not found:
                rules[field] = {"value": None, "source": NO_SOURCE, "read_on": None}
                continue
            rule = dict(found[0])
            if found[1:]:
                rule["alternatives"] = found[1:]
            rules[field] = rule
        countries[iso] = {
            "name": name,
            "calling_code": phonenumbers.country_code_for_region(iso),
            "rules": rules,
        }
    missing = set(CURATED) - set(countries)
    if missing:
        raise SystemExit(f"curated countries phonenumbers does not know: {sorted(missing)}")
    return countries


def data_text() -> str:
    body = {
        "format": 1,
        "generated_by": "scripts/build_country_rules.py",
        "countries": entries(),
    }
    return json.dumps(body, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def _cell(rule: dict[str, Any]) -> str:
    value = rule["value"]
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "allowed" in value:
        parts = [
            f"{w['days'][0]}"
            + (f"-{w['days'][-1]}" if len(w["days"]) > 1 else "")
            + f" {w['start']}-{w['end']}"
            for w in value["allowed"]
        ]
        text = ", ".join(parts)
        if value.get("holidays") == "closed":
            text += ", not on holidays"
        return text + (
            f" (+{len(rule['alternatives'])} other readings)" if rule.get("alternatives") else ""
        )
    if isinstance(value, dict):
        return str(value.get("scheme"))
    return str(value).replace("_", " ")


def doc_text(countries: dict[str, Any]) -> str:
    intro = (ROOT / "scripts/countries_intro.md").read_text()
    known = {
        iso: sum(1 for f in FIELDS if c["rules"][f]["value"] is not None)
        for iso, c in countries.items()
    }
    lines = [
        intro.rstrip(),
        "",
        f"{len(countries)} countries; {sum(1 for v in known.values() if v)} with at least one "
        f"sourced rule, {sum(known.values())} sourced rules in all.",
        "",
        "| ISO | country | alphanumeric sender | numeric sender required | marketing allowed "
        "(local time) | template registration | sourced fields | sources |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for iso, c in countries.items():
        rules = c["rules"]
        urls = {
            reading["source"]
            for f in FIELDS
            for reading in [rules[f], *rules[f].get("alternatives", [])]
            if reading["value"] is not None
        }
        lines.append(
            f"| {iso} | {c['name']} | {_cell(rules['alphanumeric_sender'])} | "
            f"{_cell(rules['numeric_sender_required'])} | {_cell(rules['quiet_hours'])} | "
            f"{_cell(rules['template_registration'])} | {known[iso]}/{len(FIELDS)} | {len(urls)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    data = data_text()
    doc = doc_text(json.loads(data)["countries"])
    if args.check:
        stale = [str(p) for p, text in ((DATA, data), (DOC, doc)) if p.read_text() != text]
        if stale:
            print("out of date:", ", ".join(stale))
            return 1
        return 0
    DATA.write_text(data)
    DOC.write_text(doc)
    print(f"wrote {DATA.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
