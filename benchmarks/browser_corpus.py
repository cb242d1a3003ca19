"""A second, independent corpus generator: a web CRM drawn by a real browser.

``benchmarks.corpus`` paints its screens with PIL; everything the product was tuned on came
from it. This generator writes HTML/CSS and has Debian's ``chromium`` (driven by selenium
through Debian's ``chromedriver``; nothing is downloaded) lay it out and draw it, so fonts,
anti-aliasing, tables, wrapping and scroll containers are the browser's, not ours. Each
distinct state of the page is photographed once; a mouse pointer is composited on every
frame (screen recorders composite the cursor the same way), and the video is encoded the way
recorders do: libx264 ``preset=medium``, CRF 18-28, the default 250-frame GOP, 5-15 fps.

What a recording holds (varied by seed): a softphone with a ticking call timer and the
caller's number; a team list (colleague names, extensions); a search typed with a blinking
caret whose results table lists many customers; a customer record with tabs (summary,
contracts, history); a history table scrolled through, naming the colleagues who handled each
row; a modal dialog in which the agent types; toasts and a chat pop-up naming a colleague; and
a messenger panel *outside* the business window (the sidecar names only the CRM window).
Looks: seven font families (DejaVu and Liberation), 11-20 px, light and dark, FR and EN,
720p and 1080p.

Ground truth comes from the DOM, not from a model of the layout: every value is a
``<span data-pii>`` whose text rectangles (``Range.getClientRects``) are clipped by every
scrolling ancestor and the viewport and checked for occlusion with ``elementFromPoint``
(the modal's dimmed backdrop lets what is under it show; the dialog itself hides it). Every
piece of interface text is a ``data-label`` element, listed when wholly visible. The truth
JSON has the format of ``benchmarks.corpus`` (``generator: "browser"``), so
``benchmarks.score`` and ``benchmarks.run_bench`` read both. The audio is the first
generator's dialogue (``corpus._plan_audio``) over the same values.

Seeds below ``HELD_OUT_FROM`` are development seeds; seeds from it up are held out: never
tune on them. ``python -m benchmarks.browser_corpus OUT --seed 3`` writes one recording;
``--set N [--held-out]`` writes N varied ones.
"""

from __future__ import annotations

import argparse
import html
import io
import itertools
import json
import random
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw

from benchmarks import corpus
from benchmarks.corpus import RecordingPaths

__all__ = ["HELD_OUT_FROM", "Look", "generate", "look_for", "main"]

HELD_OUT_FROM = 1000
FAMILIES = ("DejaVu Sans", "Liberation Sans", "Liberation Serif", "DejaVu Serif",
            "Liberation Mono", "Liberation Sans Narrow", "DejaVu Sans Mono")
SIZES = (720, 1080)
FPS = (5.0, 8.0, 10.0, 12.0, 15.0)


@dataclass(frozen=True)
class Look:
    lang: str
    theme: str
    family: str
    font_px: int
    width: int
    height: int
    fps: float
    crf: int


def look_for(seed: int) -> Look:
    """The look of recording ``seed``: language and theme alternate, the rest is drawn."""
    rng = random.Random(f"anonymizer-browser-look/{seed}")
    h = SIZES[(seed // 4) % 2]
    return Look(lang=("fr", "en")[seed % 2], theme=("light", "dark")[(seed // 2) % 2],
                family=rng.choice(FAMILIES), font_px=rng.randint(11, 20),
                width=h * 16 // 9, height=h, fps=rng.choice(FPS), crf=rng.randint(18, 28))


TEXT: dict[str, dict[str, Any]] = {
    "fr": {"app": "Relation Client", "nav": ["Accueil", "Clients", "Demandes", "Statistiques", "Aide"],
           "agent": "Conseiller", "ext": "Poste", "call": "Appel en cours", "caller": "Appelant",
           "hold": "Attente", "hangup": "Raccrocher", "team": "Mon équipe",
           "status": ["Disponible", "En appel", "Pause"], "kpi": ["Appels traités", "Durée moyenne"],
           "search": "Recherche client", "find": "Rechercher",
           "cols": ["Nom", "Téléphone", "Ville", "N° client"],
           "tabs": ["Synthèse", "Contrats", "Historique"], "ident": "Identité", "coord": "Coordonnées",
           "fields": ["Nom", "Date de naissance", "N° sécurité sociale", "Téléphone", "E-mail", "Adresse",
                      "N° client"],
           "contract": ["N° contrat", "IBAN", "Carte", "Statut carte", "Montant mensuel"],
           "card_ok": "Active", "hist_cols": ["Date", "Motif", "Traité par"],
           "modal": "Modifier l'adresse e-mail", "new": "Nouvelle adresse", "ok": "Valider",
           "cancel": "Annuler", "saved": "Modifications enregistrées", "msg_from": "Nouveau message de",
           "messenger": "Messagerie", "chat": ["peux-tu rappeler le client ?", "je prends ta pause à 15h",
                                               "réunion d'équipe demain 9h", "merci pour le dossier"],
           "note": "Note", "note_text": "Client fidèle, appelle pour une mise à jour."},
    "en": {"app": "Customer Desk", "nav": ["Home", "Customers", "Requests", "Statistics", "Help"],
           "agent": "Agent", "ext": "Ext.", "call": "Call in progress", "caller": "Caller",
           "hold": "Hold", "hangup": "Hang up", "team": "My team",
           "status": ["Available", "On a call", "Break"], "kpi": ["Calls handled", "Average time"],
           "search": "Customer search", "find": "Search",
           "cols": ["Name", "Phone", "City", "Customer no."],
           "tabs": ["Summary", "Contracts", "History"], "ident": "Identity", "coord": "Contact details",
           "fields": ["Name", "Date of birth", "National ID", "Phone", "Email", "Address", "Customer no."],
           "contract": ["Policy no.", "IBAN", "Card", "Card status", "Monthly amount"],
           "card_ok": "Active", "hist_cols": ["Date", "Reason", "Handled by"],
           "modal": "Change email address", "new": "New address", "ok": "Confirm",
           "cancel": "Cancel", "saved": "Changes saved", "msg_from": "New message from",
           "messenger": "Messenger", "chat": ["can you call the customer back?", "I'll take your break at 3",
                                              "team meeting tomorrow 9am", "thanks for the file"],
           "note": "Note", "note_text": "Loyal customer, calling for an update."},
}

THEME_CSS = {
    "light": "--bg:#eef1f5;--panel:#fff;--fg:#1d2127;--muted:#5f6773;--line:#d5dae1;--accent:#2c5ea8;"
             "--accent-fg:#fff;--hover:#e3edfb;--side:#243447;--side-fg:#e6e9ee;--toast:#1f7a3e;--pop:#fff8dc",
    "dark": "--bg:#17191d;--panel:#24272d;--fg:#e8e8e8;--muted:#9aa1ad;--line:#3b4049;--accent:#4d8ad8;"
            "--accent-fg:#fff;--hover:#2f3a4a;--side:#111317;--side-fg:#c9cdd4;--toast:#2e8b57;--pop:#3a3b2a",
}


def _pii(value: str, typ: str, who: str) -> str:
    v = html.escape(value)
    return f'<span data-pii="{typ}" data-who="{who}" data-value="{v}">{v}</span>'


def _lab(text: str, tag: str = "span", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<{tag}{c} data-label>{html.escape(text)}</{tag}>"


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    city: str
    cid: str


def _others(rng: random.Random, lang: str, last: str, n: int) -> list[Person]:
    """Other customers a search lists: several share the caller's last name."""
    firsts = (corpus.FR_FIRST_M + corpus.FR_FIRST_F) if lang == "fr" else (corpus.EN_FIRST_M + corpus.EN_FIRST_F)
    lasts = corpus.FR_LAST if lang == "fr" else corpus.EN_LAST
    cities = [c for _, c in corpus.FR_CITIES] if lang == "fr" else [c for c, _ in corpus.EN_CITIES]
    out = []
    for k in range(n):
        ln = last if k % 3 == 0 else rng.choice(lasts)
        if lang == "fr":
            phone = "0" + rng.choice("67") + " " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))
        else:
            phone = f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
        out.append(Person(f"{rng.choice(firsts)} {ln}", phone, rng.choice(cities),
                          ("CLI-" if lang == "fr" else "CUS-") + f"{rng.randint(0, 999999):06d}"))
    return out


def page_html(data: corpus.CallData, look: Look, others: Sequence[Person], rng: random.Random) -> tuple[str, int]:
    """The CRM page and the width of the business window (the messenger lies right of it)."""
    t = TEXT[look.lang]
    c = data.customer
    ex = data.extra
    assert ex is not None
    fs = look.font_px
    side = max(230, look.width // 6)
    app_w = look.width - side
    team = "".join(
        f'<li>{_pii(e.name, "PERSON", "colleague")} <span class="muted">{_lab(t["ext"])} '
        f'{_pii(e.extension, "EXTENSION", "colleague")}</span> {_lab(t["status"][k % 3], cls="pill")}</li>'
        for k, e in enumerate(data.colleagues))
    rows = "".join(
        f'<tr data-row="r{k}"><td>{_pii(p.name, "PERSON", "customer")}</td><td>{_pii(p.phone, "PHONE_NUMBER", "customer")}</td>'
        f'<td>{_lab(p.city)}</td><td>{_pii(p.cid, "CUSTOMER_ID", "customer")}</td></tr>'
        for k, p in enumerate(others))
    nir = ex.nir or ""
    fields = [(t["fields"][0], _pii(f"{c.title} {c.first} {c.last}".strip(), "PERSON", "customer")),
              (t["fields"][1], _pii(c.dob, "DATE_OF_BIRTH", "customer")),
              (t["fields"][2], _pii(nir, "FR_NIR", "customer") if nir else _lab("-")),
              (t["fields"][3], _pii(c.phone, "PHONE_NUMBER", "customer")),
              (t["fields"][4], _pii(c.email, "EMAIL_ADDRESS", "customer")),
              (t["fields"][5], _pii(c.address, "ADDRESS", "customer")),
              (t["fields"][6], _pii(ex.customer_id, "CUSTOMER_ID", "customer"))]
    ident = "".join(f'<div class="f">{_lab(k, "label")}<div class="v">{v}</div></div>' for k, v in fields[:3])
    coord = "".join(f'<div class="f">{_lab(k, "label")}<div class="v">{v}</div></div>' for k, v in fields[3:])
    amount = ex.decoys[1].value
    contract = [(t["contract"][0], _pii(ex.contract_id, "CONTRACT_ID", "customer")),
                (t["contract"][1], _pii(c.iban, "IBAN_CODE", "customer")),
                (t["contract"][2], _pii(c.card, "CREDIT_CARD", "customer")),
                (t["contract"][3], _lab(t["card_ok"], cls="pill")),
                (t["contract"][4], _lab(amount))]
    contracts = "".join(f'<div class="f">{_lab(k, "label")}<div class="v">{v}</div></div>' for k, v in contract)
    hist = "".join(
        f'<tr><td>{_lab(h.date)}</td><td>{_lab(h.action)}</td><td>{_pii(h.handler.name, "PERSON", "colleague" if h.handler != data.agent else "agent")}</td></tr>'
        for h in data.history[:40])
    chats = "".join(
        f'<div class="thread">{_pii(e.name, "PERSON", "colleague")}<div class="muted">{_lab(t["chat"][k % 4])}</div></div>'
        for k, e in enumerate((*data.colleagues, *data.others)))
    pop_from = data.colleagues[1]
    pop_about = others[1].name
    a = data.agent
    css = f"""
:root{{{THEME_CSS[look.theme]}}}
*{{box-sizing:border-box;transition:none!important;animation:none!important;caret-color:transparent}}
html,body{{margin:0;height:100%;overflow:hidden;background:var(--bg);color:var(--fg);
  font-family:'{look.family}';font-size:{fs}px;line-height:1.35}}
#app{{position:absolute;left:0;top:0;width:{app_w}px;height:100%;display:flex;flex-direction:column}}
header{{background:var(--accent);color:var(--accent-fg);display:flex;align-items:center;gap:{fs}px;padding:{fs // 2}px {fs}px}}
header .brand{{font-weight:bold;font-size:{round(fs * 1.2)}px}} header nav span{{margin-right:{fs}px}}
header .me{{margin-left:auto}}
.body{{flex:1;display:flex;min-height:0}}
#phone{{width:{max(180, app_w // 5)}px;background:var(--panel);border-right:1px solid var(--line);padding:{fs}px}}
#phone .timer{{font-size:{round(fs * 1.6)}px;font-variant-numeric:tabular-nums;margin:{fs // 2}px 0}}
button{{font:inherit;background:var(--accent);color:var(--accent-fg);border:0;border-radius:4px;padding:4px 10px;margin:4px 4px 0 0}}
main{{flex:1;padding:{fs}px;overflow:hidden;position:relative}}
.card{{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:{fs}px;margin-bottom:{fs}px}}
h2{{font-size:{round(fs * 1.25)}px;margin:0 0 {fs // 2}px 0}} h3{{font-size:{round(fs * 1.05)}px;margin:0 0 6px 0;color:var(--muted)}}
.muted{{color:var(--muted)}} .pill{{border:1px solid var(--line);border-radius:9px;padding:0 6px;font-size:{max(10, fs - 2)}px}}
ul{{list-style:none;padding:0;margin:0}} li{{padding:3px 0;border-bottom:1px solid var(--line)}}
table{{border-collapse:collapse;width:100%}} th,td{{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);white-space:nowrap}}
tr.hover td{{background:var(--hover)}}
.input{{border:1px solid var(--line);background:var(--bg);padding:4px 8px;min-height:{round(fs * 1.9)}px;width:60%;display:inline-block}}
.caret{{display:inline-block;width:1px;height:{round(fs * 1.1)}px;background:var(--fg);vertical-align:middle}}
.tabs span{{display:inline-block;padding:4px 12px;border-bottom:2px solid transparent}}
.tabs span.on{{border-color:var(--accent);font-weight:bold}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:{fs}px}}
.f{{display:flex;gap:8px;padding:3px 0}} .f label{{color:var(--muted);width:{fs * 11}px;flex:none}}
.scroll{{max-height:{look.height // 2}px;overflow:hidden}}
#backdrop{{position:absolute;inset:0;background:rgba(0,0,0,.45);pointer-events:none}}
#modal{{position:absolute;left:50%;top:30%;transform:translateX(-50%);width:{app_w // 2}px;background:var(--panel);
  border:1px solid var(--line);border-radius:8px;padding:{fs}px;box-shadow:0 8px 30px rgba(0,0,0,.4)}}
#toast{{position:absolute;right:{fs}px;top:{fs * 4}px;background:var(--toast);color:#fff;padding:8px 14px;border-radius:6px}}
#pop{{position:absolute;right:{fs}px;bottom:{fs}px;width:{max(220, app_w // 4)}px;background:var(--pop);border:1px solid var(--line);
  border-radius:6px;padding:8px}}
#messenger{{position:absolute;left:{app_w}px;top:0;width:{side}px;height:100%;background:var(--side);color:var(--side-fg);padding:{fs}px}}
#messenger .thread{{padding:6px 0;border-bottom:1px solid #444}}
"""
    body = f"""
<div id="app">
 <header><span class="brand" data-label>{html.escape(t["app"])}</span>
  <nav>{"".join(_lab(n) for n in t["nav"])}</nav>
  <span class="me">{_lab(t["agent"])} {_pii(a.name, "PERSON", "agent")} · {_lab(t["ext"])} {_pii(a.extension, "EXTENSION", "agent")} · {_pii(a.employee_id, "EMPLOYEE_ID", "agent")}</span>
 </header>
 <div class="body">
  <aside id="phone">{_lab(t["call"], "h3")}<div class="timer" id="timer">00:00</div>
   {_lab(t["caller"], "div", "muted")}<div>{_pii(c.phone, "PHONE_NUMBER", "customer")}</div>
   <div>{_lab(t["hold"], "button")}{_lab(t["hangup"], "button")}</div>
   <div class="card" style="margin-top:{fs}px">{_lab(t["kpi"][0], "div", "muted")}<div data-label>{rng.randint(8, 40)}</div>
   {_lab(t["kpi"][1], "div", "muted")}<div data-label>{rng.randint(3, 9)} min</div></div>
  </aside>
  <main>
   <section id="v-home"><div class="card">{_lab(t["team"], "h2")}<ul>{team}</ul></div></section>
   <section id="v-search"><div class="card">{_lab(t["search"], "h2")}
     <span class="input"><span id="typed"></span><span class="caret" id="caret"></span></span> {_lab(t["find"], "button")}</div>
     <div class="card" id="results"><table><thead><tr>{"".join(_lab(x, "th") for x in t["cols"])}</tr></thead>
     <tbody>{rows}</tbody></table></div></section>
   <section id="v-record"><div class="card"><h2>{_pii(f"{c.first} {c.last}", "PERSON", "customer")}</h2>
     <div class="tabs">{"".join(f'<span id="tab{k}" data-label>{html.escape(x)}</span>' for k, x in enumerate(t["tabs"]))}</div></div>
     <div id="pane0" class="grid"><div class="card">{_lab(t["ident"], "h3")}{ident}</div>
       <div class="card">{_lab(t["coord"], "h3")}{coord}</div>
       <div class="card">{_lab(t["note"], "h3")}{_lab(t["note_text"], "div")}</div></div>
     <div id="pane1" class="card">{contracts}</div>
     <div id="pane2" class="card"><div class="scroll" id="hist"><table><thead><tr>{"".join(_lab(x, "th") for x in t["hist_cols"])}</tr></thead>
       <tbody>{hist}</tbody></table></div></div>
   </section>
  </main>
 </div>
 <div id="backdrop"></div>
 <div id="modal">{_lab(t["modal"], "h2")}{_lab(t["new"], "div", "muted")}
  <span class="input" style="width:100%"><span id="mtyped"></span><span class="caret" id="mcaret"></span></span>
  <div style="margin-top:{fs}px">{_lab(t["ok"], "button")}{_lab(t["cancel"], "button")}</div></div>
 <div id="toast">{_lab(t["saved"])}</div>
 <div id="pop">{_lab(t["msg_from"], "div", "muted")}<div>{_pii(pop_from.name, "PERSON", "colleague")}</div>
  <div>{_lab(t["chat"][0])} {_pii(pop_about, "PERSON", "customer")}</div></div>
</div>
<div id="messenger">{_lab(t["messenger"], "h3")}{chats}</div>
"""
    return f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head><body>{body}<script>{JS}</script></body></html>", app_w


JS = r"""
const $ = id => document.getElementById(id);
let hovered = null;
function show(id, on) { $(id).style.display = on ? '' : 'none'; }
function textRects(el) {
  const out = [];
  for (const n of el.childNodes) {
    if (n.nodeType !== 3 || !n.textContent.trim()) continue;
    const rg = document.createRange(); rg.selectNodeContents(n);
    for (const r of rg.getClientRects()) if (r.width > 0.5 && r.height > 0.5) out.push(r);
  }
  return out;
}
function clip(el, r) {
  let x0 = r.left, y0 = r.top, x1 = r.right, y1 = r.bottom;
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const cs = getComputedStyle(a);
    if (cs.display === 'none' || cs.visibility === 'hidden') return null;
    if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
      const b = a.getBoundingClientRect();
      x0 = Math.max(x0, b.left); y0 = Math.max(y0, b.top); x1 = Math.min(x1, b.right); y1 = Math.min(y1, b.bottom);
    }
  }
  x0 = Math.max(0, x0); y0 = Math.max(0, y0); x1 = Math.min(innerWidth, x1); y1 = Math.min(innerHeight, y1);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return [x0, y0, x1, y1];
}
function hits(el, c) {  // of 5 points inside c, how many show el (not something on top of it)
  const [x0, y0, x1, y1] = c; let n = 0;
  const pts = [[(x0 + x1) / 2, (y0 + y1) / 2], [x0 + 1, y0 + 1], [x1 - 1, y0 + 1], [x0 + 1, y1 - 1], [x1 - 1, y1 - 1]];
  for (const [x, y] of pts) { const e = document.elementFromPoint(x, y); if (e && (e === el || el.contains(e))) n++; }
  return n;
}
function box(c) {
  const x = Math.floor(c[0]), y = Math.floor(c[1]);
  return [x, y, Math.ceil(c[2]) - x, Math.ceil(c[3]) - y];
}
function collect() {
  const pii = [], labels = [];
  for (const el of document.querySelectorAll('[data-pii]')) {
    for (const r of textRects(el)) {
      const c = clip(el, r); if (!c) continue;
      const h = hits(el, c); if (!h) continue;
      const full = c[0] <= r.left + 0.5 && c[1] <= r.top + 0.5 && c[2] >= r.right - 0.5 && c[3] >= r.bottom - 0.5;
      const item = {type: el.dataset.pii, value: el.dataset.value, box: box(c), who: el.dataset.who};
      if (!full || h < 5) item.partial = true;
      if (el.closest('#messenger')) item.outside = true;
      pii.push(item);
    }
  }
  for (const el of document.querySelectorAll('[data-label]')) {
    if (el.closest('#messenger')) continue;
    for (const r of textRects(el)) {
      const c = clip(el, r); if (!c) continue;
      const full = c[0] <= r.left + 0.5 && c[1] <= r.top + 0.5 && c[2] >= r.right - 0.5 && c[3] >= r.bottom - 0.5;
      if (full && hits(el, c) === 5) labels.push({text: el.textContent.trim(), box: box(c)});
    }
  }
  return {pii, labels};
}
window.applyState = function (s) {
  $('timer').textContent = s.timer;
  show('v-home', s.view === 'home'); show('v-search', s.view === 'search'); show('v-record', s.view === 'record');
  show('results', s.results);
  for (let k = 0; k < 3; k++) { show('pane' + k, s.tab === k); $('tab' + k).className = s.tab === k ? 'on' : ''; }
  $('typed').textContent = s.typed; $('caret').style.visibility = s.caret && !s.modal ? 'visible' : 'hidden';
  $('mtyped').textContent = s.mtyped; $('mcaret').style.visibility = s.caret && s.modal ? 'visible' : 'hidden';
  $('hist').scrollTop = s.scroll;
  show('backdrop', s.modal); show('modal', s.modal); show('toast', s.toast); show('pop', s.pop);
  if (hovered) hovered.classList.remove('hover');
  hovered = null;
  const e = document.elementFromPoint(s.px, s.py);
  const row = e && e.closest('tr[data-row]');
  if (row) { row.classList.add('hover'); hovered = row; }
  return JSON.stringify([s.timer, s.view, s.results, s.tab, s.typed, s.mtyped, s.caret, s.scroll, s.modal,
                         s.toast, s.pop, row ? row.dataset.row : null]);
};
window.truth = collect;
"""


# --------------------------------------------------------------------------- timeline


@dataclass
class Script:
    """Where things happen, in seconds from the start (drawn from the seed)."""

    duration: float
    search_at: float
    typed_text: str
    record_at: float
    tab_times: list[tuple[float, int]]
    scroll_from: float
    scroll_to: float
    modal: tuple[float, float]
    modal_text: str
    toasts: list[tuple[float, float]]
    pop: tuple[float, float]
    targets: list[tuple[float, float, float]]  # (time, x, y) the pointer heads for

    def state(self, t: float, pointer: tuple[float, float], max_scroll: int) -> dict[str, Any]:
        view = "home" if t < self.search_at else "search" if t < self.record_at else "record"
        tab = 0
        for at, k in self.tab_times:
            if t >= at:
                tab = k
        typed = ""
        if view == "search":
            typed = self.typed_text[:int((t - self.search_at) * 4)]
        elif view == "record":
            typed = self.typed_text
        m0, m1 = self.modal
        mtyped = self.modal_text[:max(0, int((t - m0 - 1.0) * 5))] if m0 <= t < m1 else ""
        scroll = 0
        if t >= self.scroll_from and tab == 2:
            f = min(1.0, (t - self.scroll_from) / max(0.1, self.scroll_to - self.scroll_from))
            scroll = round(f * max_scroll / 20) * 20  # a wheel moves 20 px per notch
        el = int(t * 1000) // 500
        return {"timer": f"{int(t) // 60:02d}:{int(t) % 60:02d}", "view": view, "tab": tab,
                "results": view == "search" and len(typed) >= 3, "typed": typed, "mtyped": mtyped,
                "caret": el % 2 == 0, "scroll": scroll, "modal": m0 <= t < m1,
                "toast": any(a <= t < b for a, b in self.toasts), "pop": self.pop[0] <= t < self.pop[1],
                "px": pointer[0], "py": pointer[1]}

    def pointer(self, t: float) -> tuple[float, float]:
        """Eased moves between targets, resting on each until the next."""
        pts = self.targets
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(pts):
            if t0 <= t < t1:
                move = min(1.2, (t1 - t0) * 0.5)
                f = min(1.0, (t - t0) / move)
                f = f * f * (3 - 2 * f)
                return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
        return pts[-1][1], pts[-1][2]


def _script(rng: random.Random, data: corpus.CallData, look: Look, app_w: int, duration: float) -> Script:
    D = duration
    search_at = D * rng.uniform(0.06, 0.1)
    record_at = D * rng.uniform(0.22, 0.28)
    order = [1, 2] if rng.random() < 0.5 else [2, 1]
    t1, t2, t3 = D * 0.45, D * 0.62, D * 0.8
    tab_times = [(record_at, 0), (t1, order[0]), (t2, order[1]), (t3, 0)]
    hist_at = t1 if order[0] == 2 else t2
    modal = (D * rng.uniform(0.82, 0.86), D * rng.uniform(0.92, 0.95))
    toasts = [(modal[1], modal[1] + 2.5), (D * 0.3, D * 0.3 + 2.0)]
    pop_at = D * rng.uniform(0.5, 0.7)
    W, H = app_w, look.height
    targets = [(0.0, W * 0.5, H * 0.5)]
    t = 0.0
    while t < D:
        t += rng.uniform(1.5, 4.0)
        targets.append((t, rng.uniform(W * 0.2, W * 0.95), rng.uniform(H * 0.1, H * 0.9)))
    # during the search, the pointer runs down the results (hovering rows)
    for k in range(6):
        ts = search_at + 2.0 + k * 0.9
        if ts < record_at:
            targets.append((ts, W * 0.45, H * (0.42 + 0.045 * k)))
    targets.sort()
    return Script(D, search_at, data.customer.last, record_at, tab_times, hist_at + 1.0, hist_at + 8.0, modal,
                  data.customer.email.replace("@", "+new@"), toasts, (pop_at, pop_at + 6.0), targets)


_ARROW = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]


def _draw_pointer(img: Image.Image, x: float, y: float) -> None:
    d = ImageDraw.Draw(img)
    pts = [(x + px, y + py) for px, py in _ARROW]
    d.polygon(pts, fill=(255, 255, 255), outline=(0, 0, 0))


# --------------------------------------------------------------------------- generate


def generate(out_dir: Path, *, seed: int, name: str = "call", duration_s: float = 75.0,
             look: Look | None = None, audio: bool = True, pointer: bool = True) -> RecordingPaths:
    """Draw, encode and describe recording ``seed`` in ``out_dir`` (see the module docstring).
    ``pointer=False`` leaves the pointer out (to measure what it costs: nothing else changes)."""
    from benchmarks.review_screenshot import chrome

    look = look or look_for(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"anonymizer-browser/{seed}")
    data = corpus._make_data(random.Random(f"anonymizer-browser-data/{seed}/{look.lang}"), look.lang, full=True)
    others = _others(rng, look.lang, data.customer.last, 14)
    page, app_w = page_html(data, look, others, rng)
    fps = look.fps
    n = max(1, round(duration_s * fps))
    dur = n / fps
    script = _script(rng, data, look, app_w, dur)

    truth_frames: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="browser-corpus-") as tmp:
        html_path = Path(tmp) / "crm.html"
        html_path.write_text(page, encoding="utf-8")
        driver = chrome(width=look.width, height=look.height)
        try:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": look.width, "height": look.height, "deviceScaleFactor": 1,
                                    "mobile": False})
            driver.get(html_path.as_uri())
            driver.execute_script("return document.fonts.ready.then(() => true)")
            max_scroll = int(driver.execute_script("const h = document.getElementById('hist');"
                                                   "return h.scrollHeight - h.clientHeight"))
            shots: list[tuple[Image.Image, dict[str, Any]]] = []

            def frames() -> Iterator[tuple[int, av.VideoFrame]]:
                last_sig = None
                base: Image.Image | None = None
                tr: dict[str, Any] = {}
                for i in range(n):
                    t = i / fps
                    px, py = script.pointer(t)
                    sig = driver.execute_script("return window.applyState(arguments[0])",
                                                script.state(t, (px, py), max_scroll))
                    if sig != last_sig or base is None:
                        png = driver.get_screenshot_as_png()
                        base = Image.open(io.BytesIO(png)).convert("RGB")
                        if base.size != (look.width, look.height):
                            raise RuntimeError(f"screenshot is {base.size}, not {(look.width, look.height)}")
                        tr = driver.execute_script("return window.truth()")
                        shots.append((base, tr))
                        last_sig = sig
                    img = base.copy()
                    if pointer:
                        _draw_pointer(img, px, py)
                    truth_frames.append({"i": i, "pii": tr["pii"], "labels": tr["labels"]})
                    yield i, av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24").reformat(format="yuv420p")

            sr = 16000
            pcm = None
            spans: list[dict[str, Any]] = []
            speech: list[dict[str, Any]] = []
            n_samples = round(dur * sr)
            if audio:
                pcm, spans, speech = corpus._plan_audio(data, sr, n_samples, Path(tmp),
                                                        random.Random(f"anonymizer-browser/{seed}/dialogue"))
            video = out_dir / f"{name}.mp4"
            vopts = {"crf": str(look.crf), "preset": "medium", "g": "250"}
            times = corpus._encode(video, "mp4", look.width, look.height, fps, frames(), n, pcm, sr, vopts=vopts)
        finally:
            driver.quit()
    for fr, t in zip(truth_frames, times, strict=True):
        fr["t"] = round(t, 6)
    truth = {
        "video": video.name, "generator": "browser", "width": look.width, "height": look.height, "fps": fps,
        "n_frames": n, "duration_s": dur, "lang": look.lang, "theme": look.theme, "font_px": look.font_px,
        "family": look.family, "crf": look.crf, "layout": 0, "seed": seed, "container": "mp4",
        "split": "held-out" if seed >= HELD_OUT_FROM else "dev", "variant": "full",
        "business_window": [0, 0, app_w, look.height], "n_screenshots": len(shots), "pointer": pointer,
        "audio": {"sample_rate": sr, "channels": 1, "n_samples": n_samples} if audio else None,
        "frames": [{"i": f["i"], "t": f["t"], "pii": f["pii"], "labels": f["labels"]} for f in truth_frames],
        "audio_spans": spans, "speech": speech,
    }
    truth_path = out_dir / f"{name}.truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    roster = out_dir / f"{name}.roster.csv"
    corpus._write_roster(roster, data)
    sidecar = out_dir / f"{name}.sidecar.json"
    sidecar.write_text(json.dumps({
        "call_id": f"{name}-b{seed:06d}", "agent_employee_id": data.agent.employee_id, "purpose": "training",
        "line": "+33 1 23 45 67 89" if look.lang == "fr" else "+44 20 7946 0000",
        "off_hook_s": 0.0, "on_hook_s": dur,
        "windows": [{"x": 0, "y": 0, "w": app_w, "h": look.height, "start_s": 0.0, "end_s": None}],
    }, indent=2, ensure_ascii=False), encoding="utf-8")
    return RecordingPaths(video=video, truth=truth_path, roster=roster, sidecar=sidecar)


def seeds(n: int, held_out: bool, start: int = 0) -> list[int]:
    """``n`` seeds of the development split (from ``start``) or of the held-out one."""
    base = HELD_OUT_FROM if held_out else 0
    out = [base + start + k for k in range(n)]
    if not held_out and out and out[-1] >= HELD_OUT_FROM:
        raise ValueError(f"development seeds stop below {HELD_OUT_FROM}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.browser_corpus",
                                 description="Web-CRM screen recordings drawn by chromium, with DOM truth.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=75.0)
    ap.add_argument("--set", type=int, default=0, metavar="N", help="N recordings (seeds from --seed)")
    ap.add_argument("--held-out", action="store_true", help=f"held-out seeds ({HELD_OUT_FROM}+)")
    ap.add_argument("--no-audio", action="store_true")
    ap.add_argument("--no-pointer", action="store_true", help="no mouse pointer (to measure what it costs)")
    a = ap.parse_args(argv)
    todo = seeds(a.set, a.held_out, a.seed) if a.set else [a.seed]
    for s in todo:
        name = f"b{s:04d}" if a.set else "call"
        p = generate(a.out_dir, seed=s, name=name, duration_s=a.duration, audio=not a.no_audio,
                     pointer=not a.no_pointer)
        print(p.video, look_for(s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
