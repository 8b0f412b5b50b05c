"""The stylized two-feature dataset of the paper's Fig. 1 (Sec. 1, claim #1).

Two coordinates, independent given the label y in {-1, +1} and each 100% predictive alone:

* ``phi_1`` (coordinate 0, S) is a Linear block: positives uniform on [gamma_1, 1], negatives on
  [-1, -gamma_1]. One linear piece (``phi_1 = 0``) separates the classes, with margin gamma_1.
* ``phi_2`` (coordinate 1, Sc) is a 5-slab: five bands along [-1, 1], labels alternating
  (-, +, -, +, -) with gaps 2 * gamma_2 between bands. It needs four linear pieces.

A boundary that uses both features can zigzag through the band gaps: right of the negative
bands, left of the positive bands. Its margin (half the distance between the two classes'
supports) is ``sqrt(gamma_1**2 + gamma_2**2)``, larger than the linear boundary's gamma_1; the
four-piece zigzag :func:`piecewise_boundary` attains it. The data are not rotated (a picture in
the plane of the two features is the point of Fig. 1).
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import Tensor

from . import blocks
from .synthetic import SyntheticData, make_blocks

K_SLABS = 5  # phi_2 needs k - 1 = 4 linear pieces (Sec. 3.1)


def make_stylized(
    n_samples: int, *, gamma_linear: float = 0.1, gamma_slab: float = 0.15, seed: int = 0
) -> SyntheticData:
    """Fig. 1's data: ``z = (phi_1, phi_2)``, S = {0} (linear), Sc = {1} (5-slab), unrotated.

    Args:
        n_samples: number of points; labels uniform on {-1, +1} (stored as {0, 1}).
        gamma_linear: half-gap of phi_1 around 0, the margin of the linear boundary.
        gamma_slab: half-gap between adjacent phi_2 bands (App. B's gamma of a slab block).
        seed: seeds labels and both coordinates.
    Returns: a :class:`SyntheticData` with x = z of shape (n_samples, 2).
    """
    blocks.slab_layout(K_SLABS, gamma=gamma_slab)  # validates gamma_slab before sampling
    cols = [
        partial(blocks.linear, gamma=gamma_linear),
        partial(blocks.slab, k=K_SLABS, gamma=gamma_slab),
    ]
    data = make_blocks(
        cols, n_samples, seed=seed, s_coords=(0,), name="stylized (Fig. 1)", rotate=False
    )
    data.meta.update(gamma_linear=gamma_linear, gamma_slab=gamma_slab)
    return data


def max_margin(gamma_linear: float = 0.1, gamma_slab: float = 0.15) -> float:
    """Half the distance between the two classes' supports: ``sqrt(gamma_1^2 + gamma_2^2)``.

    Adjacent positive and negative rectangles are 2 gamma_1 apart along phi_1 and 2 gamma_2 apart
    along phi_2, so their nearest corners are ``2 sqrt(gamma_1^2 + gamma_2^2)`` apart.
    """
    return math.hypot(gamma_linear, gamma_slab)


def piecewise_boundary(gamma_linear: float = 0.1, gamma_slab: float = 0.15) -> Tensor:
    """The zigzag boundary that uses both features, as a polyline (n_vertices, 2) in (phi_1, phi_2).

    Its vertices sit at the centre heights of the five bands, at ``phi_1 = +c`` beside a negative
    band and ``-c`` beside a positive one: four linear pieces in between, extended vertically to
    phi_2 = -+1. With band centre spacing D and gap g = 2 gamma_2, the choice
    ``c = g D / (4 gamma_1)`` maximizes the distance to the nearest band corner, which is then
    :func:`max_margin`. Points with ``phi_1`` right of the polyline are called positive.
    """
    lay = blocks.slab_layout(K_SLABS, gamma=gamma_slab)
    centres = [(lo + hi) / 2 for lo, hi in zip(lay.lo, lay.hi)]
    spacing = centres[1] - centres[0]
    c = 2 * gamma_slab * spacing / (4 * gamma_linear)
    verts = [(c * (-lab), h) for lab, h in zip(lay.label, centres)]
    verts = [(verts[0][0], -1.0), *verts, (verts[-1][0], 1.0)]
    return torch.tensor(verts, dtype=torch.float64)


def distance_to_polyline(points: Tensor, polyline: Tensor) -> Tensor:
    """Euclidean distance from each point to a polyline (the union of its segments).

    Args: points (n, 2); polyline (V, 2). Returns (n,) float64.
    """
    p = points.double()[:, None, :]  # (n, 1, 2)
    a, b = polyline[:-1].double(), polyline[1:].double()  # (V-1, 2) segment ends
    ab = b - a
    t = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0, 1)  # (n, V-1)
    nearest = a + t[..., None] * ab
    return (p - nearest).norm(dim=-1).min(dim=1).values


def zero_crossings(score: Tensor, grid: Tensor) -> Tensor:
    """Points where a score sampled on a square grid changes sign (linear interpolation).

    Args:
        score: (G, G) values with rows over phi_2 and columns over phi_1.
        grid: (G,) the shared axis values of both coordinates.
    Returns: (n, 2) float64 points (phi_1, phi_2) on the zero level set, a dense sampling of a
    classifier's decision boundary in the plane.
    """
    s, g = score.double(), grid.double()
    out = []
    for axis in (0, 1):  # axis 1: crossings along phi_1 within a row; axis 0: along phi_2
        a, b = (s[:, :-1], s[:, 1:]) if axis == 1 else (s[:-1, :], s[1:, :])
        rows, cols = torch.nonzero((a > 0) != (b > 0), as_tuple=True)
        frac = a[rows, cols] / (a[rows, cols] - b[rows, cols])
        if axis == 1:
            x = g[cols] + frac * (g[cols + 1] - g[cols])
            out.append(torch.stack([x, g[rows]], dim=1))
        else:
            y = g[rows] + frac * (g[rows + 1] - g[rows])
            out.append(torch.stack([g[cols], y], dim=1))
    return torch.cat(out)


def signed_margin(points: Tensor, correct: Tensor, boundary: Tensor) -> float:
    """Margin of a classifier on a dataset: the smallest distance from a point to the boundary,
    counted negative for a misclassified point.

    Args: points (n, 2); correct (n,) bool, whether each point is classified right; boundary
    (m, 2) points sampling the decision boundary. Returns a float.
    """
    if boundary.shape[0] == 0:  # a constant classifier has no boundary in the window
        return float("nan")
    dist = torch.cdist(points.double(), boundary.double()).min(dim=1).values
    return float(torch.where(correct, dist, -dist).min())


def polyline_predict(points: Tensor, polyline: Tensor) -> Tensor:
    """Class in {-1, +1} given by a polyline boundary that is monotone in phi_2: +1 right of it.

    Args: points (n, 2); polyline (V, 2) with strictly increasing phi_2 covering the points.
    Returns: (n,) float64.
    """
    p, v = points.double(), polyline.double()
    i = torch.searchsorted(v[:, 1].contiguous(), p[:, 1].contiguous()).clamp(1, len(v) - 1)
    a, b = v[i - 1], v[i]
    t = (p[:, 1] - a[:, 1]) / (b[:, 1] - a[:, 1])
    x_on_line = a[:, 0] + t * (b[:, 0] - a[:, 0])
    return torch.where(p[:, 0] > x_on_line, 1.0, -1.0).double()
