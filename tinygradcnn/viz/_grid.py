"""Drawing a small array as a grid of cells with its numbers written in (the teaching views'
common picture: an image, a kernel, a window, a feature map)."""

from __future__ import annotations

import numpy as np

# One colour language for every view: inputs and activations in grey, signed numbers
# (kernels, products, pre-activation maps) blue below zero and red above, highlights orange.
INPUT_CMAP = "Greys"
SIGNED_CMAP = "RdBu_r"
HIGHLIGHT = "#ff7f0e"
WINNER = "#2ca02c"
NUMBERS_UP_TO = 12  # a grid wider than this gets colours only: numbers would not be legible


def signed_limit(*arrays: np.ndarray) -> float:
    """The symmetric colour range (-m, m) that fits every array, so zero is always white."""
    values = [float(np.max(np.abs(a))) for a in arrays if np.size(a)]
    return max(values + [1e-12])


def number_text(value: float) -> str:
    """A cell's number, short enough for a cell: 0.25, -1.3, 12, 1.2e+03."""
    if not np.isfinite(value):
        return str(value)
    if abs(value) < 0.005:
        return "0"  # not "-0.00" for a tiny negative product
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.1e}"
    if magnitude >= 10 or value == round(value):
        return f"{value:.0f}"
    return f"{value:.2f}" if magnitude < 1 else f"{value:.1f}"


def draw_grid(axes, values: np.ndarray, cmap: str = INPUT_CMAP, vmin: float | None = None,
              vmax: float | None = None, numbers: bool | None = None, title: str = "",
              fontsize: float | None = None, mask: np.ndarray | None = None,
              ticks: bool = True):
    """Draw a (H, W) array as cells on `axes`: colour by value, the value written in each cell
    (when `numbers` is None: only if both sides are at most NUMBERS_UP_TO), thin cell borders,
    row and column indices on the axes. `mask` (bool, (H, W)) blanks the cells not yet
    computed; `ticks=False` leaves the row and column indices off. Returns the image artist."""
    values = np.asarray(values, dtype=np.float64)
    height, width = values.shape
    if numbers is None:
        numbers = max(height, width) <= NUMBERS_UP_TO
    shown = np.where(mask, values, np.nan) if mask is not None else values
    from matplotlib import colormaps

    image = axes.imshow(shown, cmap=colormaps[cmap].with_extremes(bad="#f4f4f4"), vmin=vmin,
                        vmax=vmax, interpolation="nearest")
    if numbers:
        size = fontsize or (9 if max(height, width) <= 6 else 7 if max(height, width) <= 9
                            else 6)
        low, high = image.norm.vmin, image.norm.vmax
        for row in range(height):
            for col in range(width):
                if mask is not None and not mask[row, col]:
                    continue
                value = values[row, col]
                # white text on the dark end of the colour map, black elsewhere
                share = (value - low) / (high - low) if high > low else 0.5
                dark = share > 0.6 if cmap == INPUT_CMAP else not 0.2 < share < 0.8
                axes.text(col, row, number_text(value), ha="center", va="center",
                          fontsize=size, color="white" if dark else "black")
    if max(height, width) <= 2 * NUMBERS_UP_TO:  # cell borders: two collections, not ticks
        axes.vlines(np.arange(0.5, width - 1), -0.5, height - 0.5, color="#bbbbbb",
                    linewidth=0.5)
        axes.hlines(np.arange(0.5, height - 1), -0.5, width - 0.5, color="#bbbbbb",
                    linewidth=0.5)
    if ticks:
        step = 1 if max(height, width) <= NUMBERS_UP_TO else 4
        axes.set_xticks(range(0, width, step))
        axes.set_yticks(range(0, height, step))
        axes.tick_params(labelsize=6, length=2)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=10)
    return image


def outline(axes, top: int, left: int, height: int, width: int, color: str = HIGHLIGHT,
            linewidth: float = 2.5):
    """A rectangle around cells [top, top + height) x [left, left + width)."""
    from matplotlib.patches import Rectangle

    box = Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=color,
                    linewidth=linewidth)
    axes.add_patch(box)
    return box


def figure_to_image(figure):
    """A drawn Figure as a Pillow RGB image (one frame of an animated GIF)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("animated GIFs need Pillow: pip install 'tinygradcnn[viz]'") from err

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
