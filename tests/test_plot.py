"""Plots: one panel per activation, kinks marked with the convention's value, three file formats."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from symderiv.teach.plot import figure, plot


def _filled_dots(ax):
    return [(float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in ax.lines
            if ln.get_marker() == "o" and ln.get_markerfacecolor() != "white"]


def _open_dots(ax):
    return sorted((float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in ax.lines
                  if ln.get_marker() == "o" and ln.get_markerfacecolor() == "white")


@pytest.mark.parametrize(("convention", "value"), [
    # PyTorch's leaky_relu backward: z > 0 ? 1 : alpha; jax.nn.leaky_relu: where(z >= 0, ...) -> 1
    ("torch", 0.01), ("jax", 1.0),
])
def test_leaky_relu_kink_dots(convention, value):
    fig = figure(["leaky_relu"], convention=convention, derivative_only=True)
    (ax,) = fig.axes
    assert _filled_dots(ax) == [(0.0, value)]
    assert _open_dots(ax) == [(0.0, 0.01), (0.0, 1.0)]  # the two one-sided derivatives


def test_lesson_four_panels_and_jump():
    fig = figure(["sigmoid", "tanh", "relu", "leaky_relu"])
    assert len(fig.axes) == 4
    assert _filled_dots(fig.axes[0]) == []  # no kinks on a smooth function
    assert _filled_dots(fig.axes[2]) == [(0.0, 0.0)]  # relu'(0) = 0 in PyTorch
    # the infographic's marks: sigmoid max slope 1/4 at 0 and vanishing gradient; ReLU's dead zone
    texts = [" ".join(t.get_text() for t in ax.texts) for ax in fig.axes]
    assert "max g' = 1/4 at z = 0" in texts[0] and "✗ vanishing gradient" in texts[0]
    assert "✗ vanishing gradient" in texts[1]
    assert "✓ no vanishing gradient" in texts[2] and "dead zone" in texts[2]
    assert "✓ no vanishing gradient" in texts[3] and "dead zone" not in texts[3]
    assert "a·(1 - a)" in fig.axes[0].get_title() and "1 - a^2" in fig.axes[1].get_title()
    hs = figure(["hardshrink"]).axes[0]  # g jumps at +-1/2: g gets its own dots at g(+-1/2) = 0
    assert sorted(p for p in _filled_dots(hs) if p[1] == 0.0) == [(-0.5, 0.0), (-0.5, 0.0), (0.5, 0.0), (0.5, 0.0)]


@pytest.mark.parametrize(("ext", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_formats(tmp_path, ext, magic):
    out = plot(["relu", "gelu"], tmp_path / f"x.{ext}")
    assert out.read_bytes()[:len(magic)] == magic


def test_cli_plot(run_cli, tmp_path):
    r = run_cli("plot", "sigmoid", "relu", "-o", str(tmp_path / "a.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").stat().st_size > 10_000
    r = run_cli("plot", "relu", "-o", str(tmp_path / "a.txt"))
    assert r.returncode == 2 and ".png" in r.stderr and r.stderr.count("\n") == 1
    r = run_cli("plot", "relu", "-o", str(tmp_path / "missing-dir" / "a.png"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_missing_matplotlib_is_one_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from symderiv.cli import main\n"
            f"sys.exit(main(['plot', 'relu', '-o', {str(tmp_path / 'a.png')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == "symderiv: error: plotting needs matplotlib: pip install 'symderiv[plot]'"


def _extent(artist, fig):
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_notes_never_cover_the_curves_and_titles_fit():
    fig = figure(["hardtanh", "relu6", "selu"])
    fig.canvas.draw()
    for ax in fig.axes:
        box, frame = _extent(ax.texts[0], fig), _extent(ax, fig)
        assert box.y1 <= frame.y0  # the box is under the axes, where no curve is drawn
        title = _extent(ax.title, fig)
        assert title.width <= 1.05 * frame.width, ax.get_title()  # never into the next panel
    selu = fig.axes[2].get_title()
    assert "1.7580993408473768" in selu and "87904967042368842997" not in selu


def test_leaky_relu_leak_is_visible_in_an_inset():
    (ax,) = figure(["leaky_relu"]).axes
    (inset,) = ax.child_axes
    lo, hi = inset.get_ylim()
    assert lo < 0.01 < hi and hi - lo < 0.2  # alpha = 0.01 is a visible height there
    dashed = [ln for ln in inset.lines if ln.get_linestyle() == "--"]
    assert {float(y) for y in dashed[0].get_ydata()} == {0.01}
    assert not figure(["relu"]).axes[0].child_axes  # a slope 0 is not a leak


def test_softplus_max_slope_is_approached():
    (ax,) = figure(["softplus"]).axes
    assert "max g' → 1 as z → ∞" in ax.texts[0].get_text()


def test_params_expr_and_z_range(capsys, tmp_path):
    fig = figure(["leaky_relu", "relu"], params={"alpha": "0.2"}, z_range=(-2.0, 3.0))
    assert _filled_dots(fig.axes[0]) == [(0.0, 0.2)] and fig.axes[0].get_xlim() == (-2.0, 3.0)
    assert "alpha = 1/5" in fig.axes[0].get_title()
    from symderiv.cli import main

    out = tmp_path / "m.png"
    assert main(["plot", "--expr", "z*tanh(softplus(z))", "--convention", "jax", "--z-range", "-3", "3",
                 "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["plot", "relu", "--param", "beta=2", "-o", str(out)]) == 2
    assert "no parameter 'beta'" in capsys.readouterr().err
    assert main(["plot", "relu", "--z-range", "3", "-3", "-o", str(out)]) == 2
