"""What each kind of reader may see: residents the public documents, staff every live one.

Every statistic a reader's answer depends on is computed over that reader's :class:`Scope`
(document count, average field lengths, facet labels; document frequencies are counted
within its mask), so a hidden document can be neither seen nor inferred from the ranking,
the facets or "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PUBLIC = "public"


@dataclass
class Scope:
    """The documents one kind of reader may see, and BM25's statistics over them alone.

    Document counts, frequencies and average lengths come from these documents only, so a
    visitor's scores are exactly what they would be if the others did not exist: hidden
    documents can be neither seen nor inferred from the ranking.
    """
    mask: np.ndarray                  # live documents the reader may see
    size: int
    avg_length: dict[str, float]
    labels: dict[str, list]           # a facet value as these documents write it most


def scope_of(col, public_only: bool) -> Scope:
    """The scope of a reader over a collection: ``public_only`` for anonymous visitors."""
    mask = col.live.copy()
    if public_only:
        mask &= col.columns["visibility"][0] == col.codes_of("visibility", PUBLIC)
    avg = {f: float(v[mask].mean()) if mask.any() else 1.0 for f, v in col.lengths.items()}
    labels = {f: _labels(col, f, mask) for f in col.columns}
    return Scope(mask, int(mask.sum()), avg, labels)


def _labels(col, fieldname: str, mask: np.ndarray) -> list:
    """Per value code, the form most of ``mask``'s documents write (not in capitals when
    another form exists): ``AN NINH - QUỐC PHÒNG`` and ``An ninh - Quốc phòng`` are one
    value, shown as the documents the reader may see write it."""
    form_codes, forms, form_value = col.forms[fieldname]
    labels = list(col.columns[fieldname][1])
    counts = np.bincount(form_codes[mask & (form_codes >= 0)], minlength=len(forms))
    best: dict[int, tuple] = {}
    for form, count in enumerate(counts):
        if count:
            rank = (-int(count), str(forms[form]).isupper(), str(forms[form]))
            code = int(form_value[form])
            if code not in best or rank < best[code][0]:
                best[code] = (rank, forms[form])
    for code, (_, form) in best.items():
        labels[code] = form
    return labels
