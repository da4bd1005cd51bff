"""The price book: one YAML file per region, each row with its source and the date it was read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from tools.errors import ToolError

PRICES_DIR = Path(__file__).resolve().parent / "prices"
HOURS_PER_MONTH = 730  # the AWS Pricing Calculator's month


class MissingPrice(ToolError):
    """No row for a SKU in a region's price file."""


@dataclass(frozen=True)
class Price:
    sku: str
    region: str
    price: float
    unit: str
    source: str
    read: str
    found: str


@dataclass(frozen=True)
class PriceBook:
    region: str
    currency: str
    rows: dict[str, Price]

    def get(self, sku: str) -> Price:
        try:
            return self.rows[sku]
        except KeyError:
            raise MissingPrice(f"no price for {sku} in {PRICES_DIR.name}/{self.region}.yaml") from None

    @property
    def dates(self) -> set[str]:
        return {row.read for row in self.rows.values()}


@cache
def price_book(region: str, directory: Path = PRICES_DIR) -> PriceBook:
    path = directory / f"{region}.yaml"
    if not path.is_file():
        raise MissingPrice(f"no price file {path.name} for region {region}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C safe loader when built, else the pure-Python one
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    rows = {
        sku: Price(sku, region, float(row["price"]), str(row["unit"]), str(row["source"]), str(row["read"]), str(row["found"]))
        for sku, row in document["prices"].items()
    }
    return PriceBook(region, str(document["currency"]), rows)
