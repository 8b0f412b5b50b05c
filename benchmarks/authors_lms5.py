"""Runs the authors' own LMS-5 pipeline (notebook 01 of harshays/simplicitybiaspitfalls) once and
prints its timings and AUCs as one JSON line. Called by ``bench_authors.py`` in a subprocess.

Usage: ``python authors_lms5.py AUTHORS_REPO SEED``. Their scripts are imported from
``AUTHORS_REPO/scripts`` and run unmodified; nothing of theirs is copied here. Their modules
import packages the measured path never calls (torchvision, seaborn and pandas: image helpers,
plots, result tables), so when one is missing an empty stand-in module takes its place while
their modules import, and their ``plt.style.use('seaborn-ticks')`` finds the style under the
name matplotlib >= 3.6 gives it. The calls below are those of their notebook cells "load LMS
data", "train (100,2)-FCN" and "compute standard, S-randomized and Sc-randomized AUC", with the
notebook's config.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import random
import sys
import time
import types
from pathlib import Path


def _stand_ins() -> list[str]:
    missing = []
    for name in ("torchvision", "seaborn", "pandas"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any import failure: the measured path never calls it
            stand_in = types.ModuleType(name)
            stand_in.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = stand_in
            missing.append(name)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.style

    lib = matplotlib.style.library
    if "seaborn-ticks" not in lib and "seaborn-v0_8-ticks" in lib:
        lib["seaborn-ticks"] = lib["seaborn-v0_8-ticks"]
    return missing


def main(repo: str, seed: int) -> dict:
    stand_ins = _stand_ins()
    sys.path.insert(0, str(Path(repo) / "scripts"))
    t0 = time.perf_counter()
    import gendata
    import lms_utils
    import numpy as np
    import synth_models
    import torch
    import torch.nn.functional as F
    import utils
    from torch import optim

    t_import = time.perf_counter() - t0
    for name in stand_ins:  # only their imports see the stand-ins (scikit-learn probes for pandas)
        del sys.modules[name]

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cpu")
    start = time.perf_counter()
    # notebook 01, LMS-5: 100k train / 10k test, d = 50, one linear + 49 five-slab coordinates
    data = gendata.generate_ub_linslab_data_v2(
        100_000,
        50,
        0.1,
        eff_slab_margin=0.1,
        slabs_per_coord=[5] * 49,
        random_transform=True,
        N_te=10_000,
        corrupt_lin_margin=True,
        num_lin=1,
        num_slabs=49,
        width=1,
        bs=256,
        corrupt_lin=0.0,
        corrupt_slab=0.0,
        corrupt_slab7=0.0,
    )
    t_data = time.perf_counter() - start
    model = synth_models.get_fcn(idim=50, hdim=100, odim=2, hl=2).to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-5)
    stats = utils.fit_model(
        model,
        F.cross_entropy,
        opt,
        data["tr_dl"],
        data["te_dl"],
        gap=5000,
        device=device,
        epsilon=0.0001,
        patience_updates=1,
        print_info=False,
    )
    t_train = time.perf_counter() - start - t_data
    std_auc = utils.get_binary_auc(model, data["te_dl"], device)
    s_dl = lms_utils.get_randomized_loader(data["te_dl"], data["W"], [0])
    sc_dl = lms_utils.get_randomized_loader(data["te_dl"], data["W"], list(range(1, 50)))
    aucs = [
        std_auc,
        utils.get_binary_auc(model, s_dl, device),
        utils.get_binary_auc(model, sc_dl, device),
    ]
    total = time.perf_counter() - start
    return {
        "seconds": total,
        "data_s": t_data,
        "train_s": t_train,
        "auc_s": total - t_data - t_train,
        "import_s": t_import,
        "n_updates": stats["num_updates"],
        "n_epochs": stats["num_epochs"],
        "aucs": [float(a) for a in aucs],
        "stand_ins": stand_ins,
        "torch_threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
