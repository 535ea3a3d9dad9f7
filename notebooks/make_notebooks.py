"""Write the notebooks in this folder from the cells below, executed, so they read on a code host.

    python notebooks/make_notebooks.py          # write both and execute them (refresh the outputs)
    python notebooks/make_notebooks.py --check  # exit 1 naming each notebook whose outputs are stale

Each notebook is executed top to bottom from a clean kernel running this interpreter (and the
symderiv of this tree) with nbclient, then kept deterministic: cell ids are ``<notebook>-<n>``,
execution counts run 1, 2, ... from the clean kernel, no timing metadata, the kernel's language
version left out, plots as PNG without a software stamp. ``tests/test_notebooks.py`` executes
them again and fails when the committed outputs differ from the fresh ones (:func:`stale`):

* text (streams on stdout, ``text/plain``, ``text/markdown``, errors): exactly;
* PNG images: by SHA-256 when this matplotlib is the version that made them (recorded in the
  notebook's metadata; Agg's pixels are the same on every run of one version), otherwise by
  presence and pixel size, since another matplotlib draws other pixels;
* stderr is not compared (library warnings differ between environments);
* the cells in :data:`LOAD_DEPENDENT` (the whole-catalogue table) by the kinds of their outputs.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KERNEL = "symderiv-notebooks-python"
TIMEOUT = 300  # seconds per cell


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


SHOW_FIG = '''

def show(fig):
    """Display a matplotlib Figure (drawn on the Agg canvas, no pyplot) as a PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})  # no version stamp
    display(Image(data=buf.getvalue()))
'''

LESSON = [
    md("""
# The lesson, reproduced with symderiv

*Derivatives of Activation Functions* derives g'(z) for sigmoid, tanh, ReLU and Leaky ReLU, writes
each in terms of the activation a = g(z), tabulates their properties, and gives NumPy code. Here
every one of those results is produced by symderiv from the catalogue's SymPy definitions, and
every step is checked (symbolically and at 50 digits with mpmath) before it is shown.
"""),
    code("""
import io

import numpy as np
import sympy
from IPython.display import Image, Markdown, display

import symderiv
import symderiv.aform
from symderiv.claims import verify_claim
from symderiv.teach.plot import figure
from symderiv.teach.steps import steps
from symderiv.teach.table import render, table

# these outputs are committed: the a-form search gets the generator's budget (not the interactive
# one), so that what is found never depends on how busy the machine is
symderiv.aform.TIMEOUT = 300.0
""" + SHOW_FIG),
    md("""
## 1–4. The four derivations, step by step

Each step names its rule; `before` and `after` are equal (checked) off the kinks. The sigmoid goes
through the chain rule to the lesson's $e^{-z}/(1+e^{-z})^2$ and then to $a(1-a)$; tanh through the
quotient rule to $1-a^2$; ReLU and Leaky ReLU are differentiated piece by piece, then the kink at 0
gets its one-sided derivatives and the value PyTorch uses there.
"""),
    code("""
LESSON = ["sigmoid", "tanh", "relu", "leaky_relu"]
derivations = {name: steps(name) for name in LESSON}
display(Markdown(derivations["sigmoid"].as_markdown()))
"""),
    code("""display(Markdown(derivations["tanh"].as_markdown()))"""),
    code("""display(Markdown(derivations["relu"].as_markdown()))"""),
    code("""display(Markdown(derivations["leaky_relu"].as_markdown()))"""),
    code("""
# every step went through the checker; none needed the numeric-only fallback
for name, s in derivations.items():
    print(f"{name:11s} {len(s.steps):2d} steps, numeric-only: {s.numeric_only()}")
    assert all(st.check is not None for st in s.steps)
"""),
    md("""
## The a-form proofs

The lesson's claims g'(z) = a(1 − a) and g'(z) = 1 − a², with a = g(z), proved for every real z by
the proof engine; a wrong claim is refuted with a counterexample.
"""),
    code("""
for name, claim in [("sigmoid", "a*(1 - a)"), ("tanh", "1 - a**2"), ("tanh", "1 - a")]:
    v = verify_claim(name, claim)
    print(f"{name:8s} g' = {claim:10s} -> {v.status}" + (f"  (counterexample {v.counterexample})" if v.counterexample else ""))
assert verify_claim("sigmoid", "a*(1 - a)").status == "proved"
assert verify_claim("tanh", "1 - a**2").status == "proved"
assert verify_claim("tanh", "1 - a").status == "refuted"
"""),
    md("""
The lesson's verification points: g'(0) = 0.25 for the sigmoid and 1 for tanh; both slopes are
≈ 0 at z = ±10.
"""),
    code("""
for name in ("sigmoid", "tanh"):
    d = symderiv.derive(name)
    print(name, [sympy.nsimplify(d.derivative.subs(symderiv.z, 0))] +
          [float(d.derivative.subs(symderiv.z, t)) for t in (-10, 10)])
"""),
    md("""
## The NumPy code, corrected

The lesson's implementation has three bugs. Run on its own example input
`z = np.array([-2, -1, 0, 1, 2])` (an **integer** array):

1. `leaky_relu_derivative` builds `np.ones_like(z)` — an integer array — so `dz[z < 0] = alpha`
   truncates alpha = 0.01 to **0**: Leaky ReLU silently becomes ReLU.
2. Its two Leaky ReLU derivatives disagree at z = 0: the explicit one gives 1, the
   `np.where(z > 0, 1, alpha)` one gives alpha.
3. `sigmoid(-1000)` overflows in `np.exp(1000)` (a warning, and inf in an intermediate).
"""),
    code("""
def lesson_sigmoid(z):
    return 1 / (1 + np.exp(-z))

def lesson_leaky_relu_derivative(z, alpha=0.01):
    dz = np.ones_like(z)
    dz[z < 0] = alpha
    return dz

def lesson_leaky_relu_derivative_vectorized(z, alpha=0.01):
    return np.where(z > 0, 1, alpha)

z = np.array([-2, -1, 0, 1, 2])
print("bug 1, alpha truncated:  ", lesson_leaky_relu_derivative(z))
print("bug 2, the forms at 0:   ", lesson_leaky_relu_derivative(z.astype(float))[2],
      "vs", lesson_leaky_relu_derivative_vectorized(z)[2])
with np.errstate(over="raise"):
    try:
        lesson_sigmoid(np.array([-1000.0]))
    except FloatingPointError as exc:
        print("bug 3, sigmoid(-1000):   ", "FloatingPointError:", exc)
"""),
    md("""
The fixes: compute in floating point whatever the input dtype; choose the value at the kink from
one stated convention (here PyTorch's, which symderiv records in the catalogue: relu'(0) = 0,
leaky_relu'(0) = alpha); and evaluate the sigmoid without ever exponentiating a positive number.
"""),
    code("""
def as_float(z):
    z = np.asarray(z)
    return z.astype(np.result_type(z.dtype, np.float64) if z.dtype.kind in "biu" else z.dtype)

def sigmoid(z):
    z = as_float(z)
    e = np.exp(-np.abs(z))                      # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

def sigmoid_derivative(z):
    z = as_float(z)
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2                     # = a(1 - a), without cancellation when a ~ 1

def relu_derivative(z):
    return (as_float(z) > 0).astype(float)      # 0 at z = 0, as PyTorch

def leaky_relu_derivative(z, alpha=0.01):
    z = as_float(z)
    return np.where(z > 0, 1.0, alpha)          # alpha at z = 0, as PyTorch

# the conventions come from the catalogue, not from the code above
print({n: symderiv.derive(n, defaults=True).kinks[0].values["torch"] for n in ("relu", "leaky_relu")})
print("fixed leaky_relu'(z):", leaky_relu_derivative(z))
with np.errstate(over="raise"):
    print("fixed sigmoid(-1000):", sigmoid(np.array([-1000.0, 0.0, 1000.0])))
"""),
    code("""
# the fixed kernels against the exact derivative at 50 digits (mpmath)
import mpmath

d_sig = sympy.lambdify(symderiv.z, symderiv.derive("sigmoid").derivative, "mpmath")
zs = np.array([-700.0, -40.0, -1.5, 0.0, 3.0, 40.0, 700.0])
with mpmath.workdps(50):
    exact = np.array([float(d_sig(mpmath.mpf(t))) for t in zs])
got = sigmoid_derivative(zs)
a = sigmoid(zs)
print("max relative error, fixed:     ", np.max(np.abs(got - exact) / exact))
print("a*(1-a) at z = 40 (a rounds to 1):", (a * (1 - a))[zs == 40.0], "exact", exact[zs == 40.0])
assert np.max(np.abs(got - exact) / exact) < 1e-14
assert np.array_equal(leaky_relu_derivative(z), [0.01, 0.01, 0.01, 1.0, 1.0])
"""),
    md("""
symderiv also *generates* these kernels from the catalogue (`symderiv generate`, into
`generated/`): the same three fixes, by construction — float output for integer input, the
PyTorch convention at the kinks, no overflow.
"""),
    code("""
from symderiv import kernels

with np.errstate(over="raise"):
    print("generated leaky_relu_grad:", kernels.leaky_relu_grad(z))
    print("generated relu_grad:      ", kernels.relu_grad(z))
    print("generated sigmoid:        ", kernels.sigmoid(np.array([-1000.0, 0.0, 1000.0])))
assert np.array_equal(kernels.leaky_relu_grad(z), leaky_relu_derivative(z))
assert np.array_equal(kernels.relu_grad(z), relu_derivative(z))
"""),
    md("""
## The tables

The lesson's summary table and its gradient-property comparison, computed: g', the a-form, the
maximum slope (and where), the limits of g' at ±∞ (vanishing gradient), the dead zone.
"""),
    code("""
rows = table(LESSON)
display(Markdown(render(rows, "markdown")))
by = {r["name"]: r for r in rows}
assert [by[n]["max_derivative"] for n in LESSON] == ["1/4", "1", "1", "1"]
assert [by[n]["vanishing_gradient"] for n in LESSON] == [True, True, False, False]
"""),
    md("""
## The plots

g (blue) and g' (dashed); at a kink, open circles are the one-sided derivatives and the filled dot
is the value PyTorch takes.
"""),
    code("""show(figure(LESSON))"""),
    md("""
## Backpropagation through a two-layer network

A tanh hidden layer and a sigmoid output with the cross-entropy loss. The backward pass is the
chain rule of the lesson, ∂L/∂z = ∂L/∂a · g'(z), with g' in its a-form (1 − a² for tanh; for the
sigmoid with cross-entropy, ∂L/∂z₂ = a₂ − y). The gradients are checked against central finite
differences.
"""),
    code("""
rng = np.random.default_rng(0)
n_x, n_h, m = 3, 4, 5
X = rng.normal(size=(n_x, m))
Y = (rng.random(size=(1, m)) > 0.5).astype(float)
params = {"W1": rng.normal(size=(n_h, n_x)) * 0.5, "b1": np.zeros((n_h, 1)),
          "W2": rng.normal(size=(1, n_h)) * 0.5, "b2": np.zeros((1, 1))}

def forward(p):
    Z1 = p["W1"] @ X + p["b1"]
    A1 = np.tanh(Z1)
    Z2 = p["W2"] @ A1 + p["b2"]
    A2 = sigmoid(Z2)
    loss = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    return loss, (A1, A2)

def backward(p):
    _, (A1, A2) = forward(p)
    dZ2 = A2 - Y                                   # dL/dA2 * a2(1 - a2)
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.mean(axis=1, keepdims=True)
    dA1 = p["W2"].T @ dZ2
    dZ1 = dA1 * (1 - A1**2)                        # chain rule with tanh' = 1 - a**2
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.mean(axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

def finite_differences(p, h=1e-6):
    out = {}
    for k, v in p.items():
        g = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            plus, minus = {**p, k: v.copy()}, {**p, k: v.copy()}
            plus[k][i] += h
            minus[k][i] -= h
            g[i] = (forward(plus)[0] - forward(minus)[0]) / (2 * h)
        out[k] = g
    return out

grads, numeric = backward(params), finite_differences(params)
for k in params:
    err = np.max(np.abs(grads[k] - numeric[k])) / max(1e-12, np.max(np.abs(numeric[k])))
    print(f"{k}: relative error {err:.1e}")
    assert err < 1e-6
"""),
    md("""
The sigmoid's own derivative a(1 − a) is inside `dZ2 = A2 - Y`: with the cross-entropy loss,
∂L/∂a₂ = (a₂ − y)/(a₂(1 − a₂)), and multiplying by g'(z₂) = a₂(1 − a₂) cancels the denominator.
The same check with the a-form written out:
"""),
    code("""
_, (A1, A2) = forward(params)
dA2 = (A2 - Y) / (A2 * (1 - A2))
assert np.allclose(dA2 * A2 * (1 - A2), A2 - Y)
print("dL/dz2 = dL/da2 * a2(1 - a2) = a2 - y: checked")
"""),
]

BEYOND = [
    md("""
# Beyond the lesson

The whole catalogue in one computed table, what frameworks do at the kinks, how accurate the
obvious NumPy formulas are (in ULPs, against 50-digit mpmath), and an activation the lesson never
saw, written as an expression.
"""),
    code("""
import io

import mpmath
import numpy as np
import sympy
from IPython.display import Image, Markdown, display

import symderiv
import symderiv.aform
from symderiv.teach.plot import figure
from symderiv.teach.steps import steps
from symderiv.teach.table import render, table, table_row

# these outputs are committed: the a-form search gets the generator's budget (not the interactive
# one), so that what is found never depends on how busy the machine is
symderiv.aform.TIMEOUT = 300.0
""" + SHOW_FIG),
    md("""
## The catalogue table

Every entry computed (parameters at their defaults). Entries marked *(numeric)* are the few where
SymPy cannot solve for the critical points (silu, mish, the tanh-approximate GELU): they come from
50-digit root finding instead.
"""),
    code("""
rows = table()
display(Markdown(render(rows, "markdown")))
print("computed numerically:", {r["name"]: r["numeric"] for r in rows if r["numeric"]})
"""),
    code("""
# the max-slope ranking, and which activations keep a gradient on at least one side
ranked = sorted(rows, key=lambda r: -float(sympy.sympify(r["max_derivative"], locals={"Symbol": sympy.Symbol})))
for r in ranked:
    print(f"{r['name']:15s} max g' = {float(sympy.sympify(r['max_derivative'])):.6f}  "
          f"vanishing: {r['vanishing_gradient']!s:5s}  dead zone: {r['dead_zone']}")
"""),
    md("""
## Conventions at the kinks, across frameworks

At a kink, g'(z) does not exist; autograd returns *some* value. symderiv records, per framework,
which one: the left derivative, the right one, their mean, or a constant. They differ (Leaky ReLU
at 0, hardtanh at ±1, hardswish at −3).
"""),
    code("""
lines = ["| activation | kink | left | right | torch | jax | subdifferential |", "|---|---|---|---|---|---|---|"]
for act in symderiv.all_activations():
    d = symderiv.derive(act, defaults=True)
    for k in d.kinks:
        sub = "—" if k.subdifferential is None else f"[{k.subdifferential[0]}, {k.subdifferential[1]}]"
        flag = " ⚠" if k.values["torch"] != k.values["jax"] else ""
        lines.append(f"| {d.name}{flag} | {k.z} | {k.left} | {k.right} | {k.values['torch']} | {k.values['jax']} | {sub} |")
display(Markdown("\\n".join(lines)))
"""),
    code("""
# where PyTorch is installed, its autograd is asked directly (skipped otherwise)
try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    import torch.nn.functional as F
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    for name, fn in [("relu", F.relu), ("leaky_relu", lambda t: F.leaky_relu(t, 0.01))]:
        (g,) = torch.autograd.grad(fn(x).sum(), x)
        assert g.item() == float(symderiv.derive(name, defaults=True).kinks[0].values["torch"])
# the same lines with or without PyTorch, so that the committed output does not depend on it
for name in ("relu", "leaky_relu"):
    print(f"{name}: g'(0) in the catalogue's torch profile = "
          f"{symderiv.derive(name, defaults=True).kinks[0].values['torch']}")
"""),
    md("""
## Accuracy of the naive formulas and of the generated kernels (ULP error against mpmath)

The a-forms are what frameworks store for the backward pass, but `a*(1 - a)` and `1 - a**2` lose
all relative accuracy once a rounds to 1. The error of each float64 formula is measured in units
in the last place (ULP) of the exact value, computed at 50 digits — beside symderiv's generated
kernels (`generated/`, written by `symderiv generate` from the catalogue with stable rewrites).
"""),
    code("""
from symderiv import kernels  # the kernels symderiv generates from the catalogue


def ulp_error(values, exact):
    # |computed - exact| / ulp(exact), the exact value an mpmath number
    out = []
    for v, e in zip(values, exact, strict=True):
        ef = float(e)
        if ef == 0.0:
            out.append(0.0 if v == 0.0 else np.inf)
            continue
        out.append(float(abs(mpmath.mpf(float(v)) - e) / mpmath.mpf(np.spacing(abs(ef)))))
    return np.array(out)

zs = np.linspace(-30, 30, 241)
with mpmath.workdps(50):
    exact_sig = [mpmath.exp(-mpmath.mpf(t)) / (1 + mpmath.exp(-mpmath.mpf(t))) ** 2 for t in zs]
    exact_tanh = [1 / mpmath.cosh(mpmath.mpf(t)) ** 2 for t in zs]
    a = 1 / (1 + np.exp(-zs))
    t = np.tanh(zs)
    e = np.exp(-np.abs(zs))
    err = {
        "sigmoid' naive a*(1-a)": ulp_error(a * (1 - a), exact_sig),
        "sigmoid' stable e/(1+e)^2, e = exp(-|z|)": ulp_error(e / (1 + e) ** 2, exact_sig),
        "sigmoid' generated kernel": ulp_error(kernels.sigmoid_grad(zs), exact_sig),
        "tanh' naive 1 - a**2": ulp_error(1 - t**2, exact_tanh),
        "tanh' stable 4e^2/(1+e^2)^2, e = exp(-|z|)": ulp_error(4 * e**2 / (1 + e**2) ** 2, exact_tanh),
        "tanh' generated kernel": ulp_error(kernels.tanh_grad(zs), exact_tanh),
    }
for k, v in err.items():
    print(f"{k:45s} max {np.max(v):.3g} ULP")
"""),
    code("""
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

fig = Figure(figsize=(9, 3.8), layout="constrained")
FigureCanvasAgg(fig)
ax = fig.add_subplot()
for (k, v), style in zip(err.items(), ["-", "-", ":", "--", "--", ":"], strict=True):
    ax.semilogy(zs, np.maximum(v, 1e-2), style, label=k)
ax.set_xlabel("z")
ax.set_ylabel("error (ULP, floored at 0.01)")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
show(fig)
assert np.max(err["sigmoid' stable e/(1+e)^2, e = exp(-|z|)"]) < 8
assert np.max(err["sigmoid' naive a*(1-a)"]) > 1e6   # catastrophic once a rounds to 1
assert np.max(err["sigmoid' generated kernel"]) <= 4 and np.max(err["tanh' generated kernel"]) <= 4
"""),
    md("""
## A custom activation: `--expr`

Any expression in z (parsed safely, never `eval`'d) gets the same treatment: here
`z*sigmoid(2*z)` (a sharper SiLU), as on the command line `symderiv steps --expr "z*sigmoid(2*z)"`.
Its maximum slope is SiLU's, reached at half the input: g(z) = silu(2z)/2, so g'(z) = silu'(2z).
"""),
    code("""
act = symderiv.custom("z*sigmoid(2*z)")
s = steps(act)
display(Markdown(s.as_markdown()))
"""),
    code("""
row = table_row(act)
silu = table_row("silu")
assert abs(float(row["max_derivative"]) - float(silu["max_derivative"])) < 1e-12
assert abs(2 * float(row["max_derivative_at"]) - float(silu["max_derivative_at"])) < 1e-12
print({k: row[k] for k in ("max_derivative", "max_derivative_at", "limit_neg_inf", "limit_pos_inf",
                           "monotonic", "vanishing_gradient", "numeric")})
show(figure([act, "silu", "mish"]))
"""),
]


NOTEBOOKS = {"01-the-lesson.ipynb": LESSON, "02-beyond-the-lesson.ipynb": BEYOND}


def build(name: str):
    """The notebook ``name`` from its cells, not executed, with stable cell ids."""
    stem = name.split("-")[0]
    cells = [nbformat.from_dict(dict(c)) for c in NOTEBOOKS[name]]
    for i, cell in enumerate(cells):
        cell.id = f"nb{stem}-{i:02d}"
    nb = new_notebook(cells=cells, metadata=_metadata())
    nbformat.validate(nb)
    return nb


def _metadata(matplotlib_version: str | None = None) -> dict:
    meta = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if matplotlib_version:
        meta["symderiv"] = {"matplotlib": matplotlib_version}
    return meta


@contextlib.contextmanager
def this_python_kernel():
    """A kernelspec running this very interpreter on this tree's symderiv, for the block."""
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="symderiv-kernel-") as tmp:
        spec = Path(tmp) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "symderiv notebooks", "language": "python",
        }))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [tmp, saved["JUPYTER_PATH"]]))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved["PYTHONPATH"]]))
        try:
            yield KERNEL
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def execute(nb, kernel: str = KERNEL):
    """Run ``nb`` from a clean kernel (in place) and strip what varies between runs."""
    import matplotlib
    import nbclient

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name=kernel, record_timing=False,
                            resources={"metadata": {"path": str(HERE)}}).execute()
    nb.metadata = nbformat.from_dict(_metadata(matplotlib.__version__))
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = _coalesced(cell.outputs)
    return nb


def _coalesced(outputs: list) -> list:
    """Consecutive writes to one stream as one output (how they split depends on timing)."""
    out: list = []
    for o in outputs:
        if o.output_type == "stream" and out and out[-1].output_type == "stream" and out[-1].name == o.name:
            out[-1].text += o.text
        else:
            out.append(o)
    return out


def _png_size(data: str) -> tuple[int, int]:
    import base64

    raw = base64.b64decode(data)
    return struct.unpack(">II", raw[16:24])


def _outputs(nb, same_images: bool) -> list[list]:
    """Per code cell, its outputs as compared (see the module's docstring)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown = []
        for o in _coalesced(copy.deepcopy(cell.outputs)):
            if o.output_type == "stream":
                if o.name == "stdout":
                    shown.append(("stdout", o.text))
            elif o.output_type == "error":
                shown.append(("error", o.ename, o.evalue))
            else:
                data = {}
                for mime, value in sorted(o.get("data", {}).items()):
                    if mime == "image/png":
                        data[mime] = (hashlib.sha256(value.encode()).hexdigest() if same_images
                                      else _png_size(value))
                    else:
                        data[mime] = value if isinstance(value, str) else "".join(value)
                shown.append((o.output_type, data))
        out.append(shown)
    return out


#: Cells whose text depends on how busy the machine is, compared by the kinds of their outputs
#: only: the catalogue table's entries fall back to 50-digit numerics when SymPy's solveset or
#: limit exceeds its 3 s budget (symderiv/teach/table.py), so under load an entry may change form.
LOAD_DEPENDENT = {"nb02-03"}


def _kinds(shown: list) -> list:
    return [(o[0], sorted(o[1])) if isinstance(o[1], dict) else o[0] for o in shown]


def stale(committed, fresh) -> list[str]:
    """What differs between the committed notebook and a fresh execution (empty: up to date)."""
    made_with = committed.metadata.get("symderiv", {}).get("matplotlib")
    same = made_with is not None and made_with == fresh.metadata.get("symderiv", {}).get("matplotlib")
    problems = []
    if [c.source for c in committed.cells] != [c.source for c in fresh.cells]:
        problems.append("the cells differ from notebooks/make_notebooks.py")
    old, new = _outputs(committed, same), _outputs(fresh, same)
    ids = [c.id for c in committed.cells if c.cell_type == "code"]
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if ids[i] in LOAD_DEPENDENT:
            a, b = _kinds(a), _kinds(b)
        if a != b:
            problems.append(f"code cell {i + 1}: committed outputs differ from a fresh run")
    if len(old) != len(new):
        problems.append("a different number of code cells")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    status = 0
    with this_python_kernel() as kernel:
        for name in NOTEBOOKS:
            fresh = execute(build(name), kernel)
            path = HERE / name
            if check:
                problems = stale(nbformat.read(path, as_version=4), fresh) if path.exists() else ["missing"]
                for p in problems:
                    print(f"{path.name}: {p}")
                status |= bool(problems)
            else:
                nbformat.validate(fresh)
                nbformat.write(fresh, path)
                print(f"wrote {path.relative_to(ROOT)}")
    if status:
        print("stale: run python notebooks/make_notebooks.py and commit the notebooks")
    return status


if __name__ == "__main__":
    sys.exit(main())
