"""Built-in streaming case loaders: ``csv`` and ``pdd-after-sale``.

One module per loader (:mod:`.csv_loader`, :mod:`.pdd`) over shared helpers:
:mod:`.text` reads streams lazily (lines, CSV rows, JSON values) and
:mod:`.convert` turns cells into case values.

A loader turns a binary stream into ``(record_number, case_dict_or_CaseError)``
pairs, lazily: one row is read, converted and handed on before the next is
read, so exports of any size stream in bounded memory. A row that cannot be
converted becomes a :class:`~policy_eval.errors.CaseError` naming the source,
the line and the JSON path of the field, and the next row follows.

``csv``
    A delimited file with a header row. ``options``:

    * ``mapping``: CSV column → dotted case path (``"订单号": "order.id"``),
      as a dict or the path of a JSON/YAML file holding one. A path may end
      in ``:TYPE`` (``str``, ``int``, ``decimal``, ``bool``, ``json``,
      ``money``, ``datetime``, ``date``) to force a conversion. Without a
      mapping every header is itself a dotted path (``order.id``); with one,
      unmapped columns are ignored.
    * ``kind``: the case kind of every row (else a column mapped to ``kind``).
    * ``defaults``: dotted path → value for fields no column fills.
    * ``schema`` (a JSON Schema dict) or ``schemas`` (a folder holding
      ``cases/<kind>.schema.json``); default: the bundled case schemas.
      Cells are converted as the kind's schema wants them: ``integer`` →
      int, ``number`` → exact Decimal, ``boolean`` → bool (true/false, 1/0,
      yes/no, 是/否), ``date-time`` → ISO 8601 (``2024-10-01 09:30`` and
      ``2024/10/01 09:30:00`` are accepted; no offset means +08:00),
      ``x-policy-type: money`` → ``"59.90"`` (``¥``, ``元`` and thousands
      separators removed), arrays and objects → JSON text; everything else
      stays a string, so ``订单号 000123`` keeps its zeros.
    * ``delimiter`` (default ``,``), ``encoding`` (default ``auto``: UTF-8,
      with or without BOM, else GB18030, as spreadsheet exports in China
      often are), ``empty`` (cell texts that mean "absent"; default ``[""]``).

    An empty cell leaves the field out (absent = unknown, or "has not
    happened", per the case conventions). Spreadsheet guards such as
    ``="240101-0001"`` or a leading ``'`` or tab before a long number are
    removed.

``pdd-after-sale``
    A Pinduoduo merchant-backend after-sale export (售后列表导出), as CSV
    (UTF-8 or GB18030) or JSON (an array, or one object per line) with the
    Chinese column names, mapped to the ``after_sale`` case
    (``schemas/cases/after_sale.schema.json``). See :data:`PDD_COLUMNS`
    for the columns understood. Every case gets ``source: platform_export``
    and ``case_id`` ``PDD-<售后单号>``; times without an offset are
    Asia/Shanghai; 售后类型 仅退款/退货退款 map to ``refund_only`` /
    ``return_refund`` (换货/补寄/维修 rows are rejected: they are not
    after-sale refund cases); 售后状态 maps to ``request.status``; a
    商家处理结果 of 系统默认同意 (a system agreement) is not a merchant
    response and leaves ``merchant_response`` out. READING: without an
    订单确认时间 column, 成团时间 is also ``order.confirmed_at`` (a 拼多多
    order is confirmed when its group succeeds); option
    ``confirmed_at_from_group: false`` turns that off. ``options``:
    ``snapshot_at`` (the export time, when the file has no 导出时间
    column), ``store_id``, ``case_id_prefix`` (default ``PDD-``),
    ``encoding``, ``delimiter``.
"""


from __future__ import annotations

from collections.abc import Callable

from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.plugins.loaders.convert import normalize_datetime, normalize_money
from policy_eval.plugins.loaders.csv_loader import load_csv
from policy_eval.plugins.loaders.pdd import PDD_COLUMNS, load_pdd_after_sale, pdd_case
from policy_eval.plugins.loaders.text import Loaded, text_lines

__all__ = ["policy_eval_case_loaders", "load_csv", "load_pdd_after_sale", "pdd_case", "PDD_COLUMNS", "text_lines",
           "normalize_datetime", "normalize_money", "Loaded"]


@hookimpl
def policy_eval_case_loaders() -> dict[str, Callable[..., Loaded]]:
    return {"csv": load_csv, "pdd-after-sale": load_pdd_after_sale}
