"""The figures and the self-contained HTML page of `decompjax compare`: per group a bar plot (and a radar plot when
three or more bounded scores exist) and one HTML file with the tables, the plots as base64 PNGs and the runs'
audio as base64 WAV players. Nothing on the page is fetched from elsewhere."""
from __future__ import annotations

import base64
import html
import io
import textwrap
from typing import Sequence

import numpy as np

from decompjax.evaluation.compare import DISENTANGLEMENT, UNSUPERVISED, Group, describe, fmt, footnotes


def _bounded(group: Group) -> list[str]:
  """The reported columns that are scores in [0, 1] by definition (probe accuracies, the disentanglement suite):
  one scale for a plot. Chance levels are left to the table."""
  return [c for c in group.columns if ((c.startswith("probe_") and c.endswith("_acc")) or c in DISENTANGLEMENT)
          and any(c in r.values for r in group.rows)]


def plot_columns(group: Group) -> tuple[list[str], str]:
  """(columns, y label) a group's bar plot shows: its [0, 1] scores, else the family's own scores (BSS Eval in
  dB), else the unsupervised ones."""
  bounded = _bounded(group)
  if bounded:
    return bounded, "score (0 to 1)"
  reported = [c for c in group.columns if any(c in r.values for r in group.rows)]
  own = [c for c in reported if c not in UNSUPERVISED and not c.startswith("probe_")]
  return (own, "family score (BSS Eval: dB)") if own else (reported, "value")


def _label(r) -> str:
  return f"{r.run} · {r.latent}"


def bar_figure(group: Group, title: str):
  """Grouped bars: one group of bars per metric, one bar per (run, latent set); a blank cell has no bar."""
  import matplotlib.pyplot as plt
  columns, ylabel = plot_columns(group)
  n_rows = max(1, len(group.rows))
  fig, ax = plt.subplots(figsize=(max(5.0, 0.35 * len(columns) * n_rows + 1.5), 3.6))
  width = 0.8 / n_rows
  x = np.arange(len(columns))
  for i, r in enumerate(group.rows):
    vals = [r.values.get(c, np.nan) for c in columns]
    ax.bar(x + (i - (n_rows - 1) / 2) * width, vals, width, label=_label(r))
  ax.set_xticks(x, columns, rotation=45, ha="right", fontsize=7)
  ax.set_ylabel(ylabel)
  ax.set_title(textwrap.fill(title, 110), fontsize=8)
  ax.axhline(0.0, color="black", linewidth=0.5)
  ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
  return fig


def radar_figure(group: Group, title: str):
  """The [0, 1] scores on a polar plot, one closed line per (run, latent set); None under three scores."""
  columns = _bounded(group)
  if len(columns) < 3:
    return None
  import matplotlib.pyplot as plt
  angles = np.linspace(0, 2 * np.pi, len(columns), endpoint=False)
  fig, ax = plt.subplots(figsize=(5.5, 5.5), subplot_kw={"polar": True})
  for r in group.rows:
    vals = np.asarray([r.values.get(c, np.nan) for c in columns])
    ax.plot(np.append(angles, angles[0]), np.append(vals, vals[0]), marker="o", markersize=3, label=_label(r))
  ax.set_xticks(angles, columns, fontsize=6)
  ax.set_ylim(0, 1)
  ax.set_title(textwrap.fill(title, 70), fontsize=8)
  ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.05, 1.0))
  return fig


def png_bytes(fig) -> bytes:
  import matplotlib.pyplot as plt
  buf = io.BytesIO()
  try:
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
  finally:
    plt.close(fig)
  return buf.getvalue()


def wav_bytes(wave: np.ndarray, rate: int) -> bytes:
  """Mono 16-bit PCM WAV in memory, peak-normalised to 0.99 (as evaluation's clips)."""
  import soundfile
  audio = np.nan_to_num(np.asarray(wave, np.float64).reshape(-1))
  top = float(np.max(np.abs(audio))) if audio.size else 0.0
  buf = io.BytesIO()
  soundfile.write(buf, audio * (0.99 / top) if top > 0 else audio, int(rate), subtype="PCM_16", format="WAV")
  return buf.getvalue()


def _b64(data: bytes) -> str:
  return base64.b64encode(data).decode("ascii")


STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px}td.num{text-align:right}td.blank{color:#999;text-align:center}
.notes{font-size:12px;color:#444}img{max-width:100%}audio{height:28px;vertical-align:middle}"""


def _table_html(group: Group) -> str:
  notes = footnotes(group)
  esc = html.escape
  head = "".join(f"<th>{esc(c)}</th>" for c in ["run", "family", "latent"] + group.columns)
  body = []
  for r in group.rows:
    cells = [f"<td>{esc(v)}</td>" for v in (r.run, r.family, r.latent)]
    for c in group.columns:
      if c in r.values:
        cells.append(f'<td class="num">{fmt(r.values[c])}</td>')
      else:
        reason = r.missing[c]
        cells.append(f'<td class="blank" title="{esc(reason)}">—<sup>{notes[reason]}</sup></td>')
    body.append("<tr>" + "".join(cells) + "</tr>")
  foot = "".join(f"<li value=\"{k}\">{esc(reason)}</li>" for reason, k in notes.items())
  return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
          + (f'<ol class="notes">{foot}</ol>' if foot else ""))


def _audio_html(group: Group) -> str:
  items = []
  for r in group.rows:
    for name, (wave, rate) in r.audio.items():
      items.append(f"<li>{html.escape(_label(r))}: {html.escape(name)} <audio controls "
                   f"src=\"data:audio/wav;base64,{_b64(wav_bytes(wave, rate))}\"></audio></li>")
  return f"<h3>Audio</h3><ul>{''.join(items)}</ul>" if items else ""


def page(groups: Sequence[Group], images: Sequence[dict[str, bytes]], title: str = "decompjax compare") -> str:
  """The whole HTML page. images[i]: {file name: PNG bytes} of group i."""
  esc = html.escape
  parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
           f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>",
           "<p>Runs on different data are in different groups and never share a table. A blank cell (—) gives "
           "its reason on hover and in the numbered note under its table.</p>"]
  for i, (g, imgs) in enumerate(zip(groups, images)):
    parts.append(f"<h2>Group {i + 1}: {esc(describe(g.dataset))}</h2>")
    parts.append(f"<p class=\"notes\">{g.num_examples} shared examples. {esc(' '.join(g.notes))}</p>")
    parts.append(_table_html(g))
    for name, data in imgs.items():
      parts.append(f'<p><img alt="{esc(name)}" src="data:image/png;base64,{_b64(data)}"></p>')
    parts.append(_audio_html(g))
  parts.append("</body></html>")
  return "\n".join(parts)
