"""The statement a person downloads from the pages: the same rows as GET
/v1/statements.csv (every posted change with the balance after it, and each purchase and
refund when it happened), written for a person in the page's language — dates and amounts
through `obolo.locale`, headings, kinds and statuses translated, and in Italian the
semicolon separator spreadsheets there expect beside a decimal comma. The API's CSV stays
machine-readable."""

from __future__ import annotations

import csv
import io

from fastapi.responses import Response

from obolo.entrypoints.api.common import spreadsheet_safe
from obolo.entrypoints.web.context import Visitor
from obolo.entrypoints.web.wallets_i18n import KIND_NAMES

HEADINGS = ("Date", "Kind", "Status", "Description", "Amount", "Balance", "Spent", "Asset")


def statement_csv(page: Visitor, asset: str, start: int, end: int) -> Response:
    """The person's statement of one wallet in [start, end) (ns). Raises UnknownAsset."""
    wallets = page.platform.wallets
    lines = wallets.statement(page.user_id, asset, start, end)
    bought = wallets.purchases(page.user_id, asset, start, end)
    t = page.t

    def kind(code: str) -> str:
        return t(KIND_NAMES.get(code, code))

    rows: list[tuple[int, list[str]]] = [
        (line.timestamp, [page.date_time(line.timestamp), kind(line.kind), t("posted"),
                          line.text.render(t) if line.text else line.description,
                          page.number(line.amount, asset), page.number(line.balance, asset), "", asset])
        for line in lines
    ]  # fmt: skip
    for p in bought:
        message = "Refunded: {site} — {item}" if p.status == "refunded" else "{site} — {item}"
        text = spreadsheet_safe(t(message, site=p.site, item=p.item))
        when, what, status = page.date_time(p.timestamp), kind(p.kind), t(p.status)
        spent = page.number(p.spent, asset)
        rows.append((p.timestamp, [when, what, status, text, page.number(0, asset), "", spent, asset]))
    rows.sort(key=lambda row: row[0])  # stable: within a time, posted changes first
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if page.language == "it" else ",")
    writer.writerow([t(heading) for heading in HEADINGS])
    writer.writerows(row for _, row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="obolo-{asset}-statement.csv"'},
    )


__all__ = ["statement_csv"]
