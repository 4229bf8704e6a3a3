#!/usr/bin/env python3
"""Generate scheduler reference data from a reconstructed diffusers 0.27.2 scheduler package.

Run:  PYTHONPATH=<folder holding a diffusers 0.27 package> python3 make_refs.py [outdir]

See README.md next to this file for the exact protocol.
"""
import inspect
import json
import math
import os
import sys
import traceback

import numpy as np
import torch

import diffusers
from diffusers.utils import logging as dlogging

dlogging.set_verbosity(40)  # silence "config attributes ... not expected" warnings

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")

SDXL_CONFIG = {
    "_class_name": "EulerDiscreteScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}

SPACINGS = ["leading", "trailing", "linspace"]
SCHEDULE_STEPS = [1, 2, 3, 4, 8, 10, 25, 30, 50]
SHAPE = (1, 4, 8, 8)
IMG2IMG_STEPS = 10
IMG2IMG_STRENGTH = 0.6

D = diffusers
VARIANTS = [
    ("euler", D.EulerDiscreteScheduler, {}),
    ("euler_karras", D.EulerDiscreteScheduler, {"use_karras_sigmas": True}),
    ("euler_a", D.EulerAncestralDiscreteScheduler, {}),
    ("ddim", D.DDIMScheduler, {}),
    ("ddpm", D.DDPMScheduler, {}),
    ("dpmpp_2m", D.DPMSolverMultistepScheduler, {}),
    ("dpmpp_2m_karras", D.DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
    ("dpmpp_2m_sde", D.DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++"}),
    ("dpmpp_3m", D.DPMSolverMultistepScheduler, {"solver_order": 3}),
    ("dpmpp_1", D.DPMSolverMultistepScheduler, {"solver_order": 1}),
    ("dpmpp_2s", D.DPMSolverSinglestepScheduler, {}),
    ("unipc", D.UniPCMultistepScheduler, {}),
    ("heun", D.HeunDiscreteScheduler, {}),
    ("heun_karras", D.HeunDiscreteScheduler, {"use_karras_sigmas": True}),
    ("lms", D.LMSDiscreteScheduler, {}),
    ("lms_karras", D.LMSDiscreteScheduler, {"use_karras_sigmas": True}),
    ("lcm", D.LCMScheduler, {}),
    ("pndm", D.PNDMScheduler, {}),
    ("kdpm2", D.KDPM2DiscreteScheduler, {}),
    ("kdpm2_a", D.KDPM2AncestralDiscreteScheduler, {}),
]
for base, cls in [("euler", D.EulerDiscreteScheduler), ("ddim", D.DDIMScheduler), ("dpmpp_2m", D.DPMSolverMultistepScheduler)]:
    VARIANTS += [
        (f"{base}_vpred", cls, {"prediction_type": "v_prediction"}),
        (f"{base}_zsnr", cls, {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}),
        (f"{base}_cosine", cls, {"beta_schedule": "squaredcos_cap_v2"}),
        (f"{base}_linear", cls, {"beta_schedule": "linear"}),
    ]


# ---------------------------------------------------------------------------------------------------------------
# helpers
def fnum(v):
    """float32/float64/int value -> JSON number (repr of the python float); non-finite -> string."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def flist(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        vals = t.detach().cpu().to(torch.float64).flatten().tolist()
    else:
        vals = np.asarray(t, dtype=np.float64).flatten().tolist()
    return [fnum(v) for v in vals]


def jsonable_config(cfg):
    out = {}
    for k, v in dict(cfg).items():
        if k.startswith("_") and k != "_class_name":
            continue
        if isinstance(v, (np.ndarray, torch.Tensor)):
            v = flist(v)
        elif isinstance(v, float):
            v = fnum(v)
        elif isinstance(v, (list, tuple)):
            v = list(v)
        elif not (v is None or isinstance(v, (bool, int, str))):
            v = repr(v)
        out[k] = v
    return out


def model_fn(x, t):
    """The fixed deterministic 'denoiser' (float32).

    eps = 0.8 * x / (1 + float(t)/1000) + 0.1 * sin(arange(x.numel()).reshape(x.shape) * 0.37 + float(t) * 0.01)
    """
    tf = float(t)
    return 0.8 * x / (1 + tf / 1000) + 0.1 * torch.sin(torch.arange(x.numel()).reshape(x.shape) * 0.37 + tf * 0.01)


class NoiseRecorder:
    """Wraps `randn_tensor` inside every scheduler module to record every noise draw (values unchanged)."""

    def __init__(self):
        self.draws = []
        self.active = False
        from diffusers.utils import torch_utils

        self._orig = torch_utils.randn_tensor
        for name, mod in list(sys.modules.items()):
            if name.startswith("diffusers.schedulers.") and hasattr(mod, "randn_tensor"):
                mod.randn_tensor = self._wrapped

    def _wrapped(self, *args, **kwargs):
        out = self._orig(*args, **kwargs)
        if self.active:
            self.draws.append(out.detach().clone())
        return out

    def start(self):
        self.draws = []
        self.active = True

    def stop(self):
        self.active = False
        return self.draws


REC = NoiseRecorder()


def spacing_in_init(cls):
    # True if `timestep_spacing` is an __init__ parameter of the class. If False, a `timestep_spacing` override is
    # silently ignored (it only lands in the hidden config). NB: LCMScheduler accepts it but never uses it.
    return "timestep_spacing" in inspect.signature(cls.__init__).parameters


def split_config(cls, cfg):
    init_keys = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    full = jsonable_config(cfg)
    used = {k: v for k, v in full.items() if k in init_keys}
    hidden = {k: v for k, v in full.items() if k not in init_keys}
    return used, hidden


def make(cls, overrides):
    return cls.from_config(SDXL_CONFIG, **overrides)


def step_kwargs(sched, generator):
    # mirrors diffusers pipelines' prepare_extra_step_kwargs: pass generator only if step() accepts it
    # (eta is also only passed when accepted; SDXL default eta=0.0 equals DDIM's default, so it is omitted here)
    params = set(inspect.signature(sched.step).parameters.keys())
    kw = {}
    if "generator" in params:
        kw["generator"] = generator
    return kw


def run_loop(sched, latents, timesteps, generator, record_first_io):
    first = None
    first_in = first_out = None
    kw = step_kwargs(sched, generator)
    for i, t in enumerate(timesteps):
        x = sched.scale_model_input(latents, t)
        eps = model_fn(x, t)
        if i == 0 and record_first_io:
            first_in, first_out = x, eps
        latents = sched.step(eps, t, latents, **kw).prev_sample
        if i == 0:
            first = latents
    return latents, first, first_in, first_out


# ---------------------------------------------------------------------------------------------------------------
def do_schedules(cls, overrides):
    res = []
    for spacing in SPACINGS:
        for n in SCHEDULE_STEPS:
            entry = {"spacing": spacing, "steps": n}
            try:
                s = make(cls, {**overrides, "timestep_spacing": spacing})
                s.set_timesteps(n)
                entry["timestep_spacing_in_init"] = spacing_in_init(cls)
                entry["timesteps"] = flist(s.timesteps)
                sig = getattr(s, "sigmas", None)
                entry["sigmas"] = flist(sig) if isinstance(sig, torch.Tensor) else None
                entry["init_noise_sigma"] = fnum(s.init_noise_sigma)
                entry["order"] = s.order
            except Exception as e:  # noqa
                entry["error"] = f"{type(e).__name__}: {e}"
            res.append(entry)
    return res


def do_trajectory(cls, overrides, spacing, n, record_first_io):
    s = make(cls, {**overrides, "timestep_spacing": spacing})
    s.set_timesteps(n)
    gen = torch.Generator("cpu").manual_seed(0)
    noise0 = torch.randn(SHAPE, generator=gen)
    latents = noise0 * s.init_noise_sigma
    REC.start()
    final, first, fin, fout = run_loop(s, latents, s.timesteps, gen, record_first_io)
    draws = REC.stop()
    entry = {
        "spacing": spacing,
        "steps": n,
        "timestep_spacing_in_init": spacing_in_init(cls),
        "timesteps": flist(s.timesteps),
        "init_noise_sigma": fnum(s.init_noise_sigma),
        "num_scheduler_steps": len(s.timesteps),
        "noise_draw_count": len(draws),
        "first_step_latents": flist(first),
        "final_latents": flist(final),
    }
    if record_first_io:
        entry["first_model_input"] = flist(fin)
        entry["first_model_output"] = flist(fout)
    return entry, draws


def do_img2img(cls, overrides, spacing):
    s = make(cls, {**overrides, "timestep_spacing": spacing})
    s.set_timesteps(IMG2IMG_STEPS)
    n = IMG2IMG_STEPS
    init_timestep = min(int(n * IMG2IMG_STRENGTH), n)
    t_start = max(n - init_timestep, 0)
    timesteps = s.timesteps[t_start * s.order :]
    begin_index_set = hasattr(s, "set_begin_index")
    if begin_index_set:
        s.set_begin_index(t_start * s.order)
    init = torch.linspace(-1, 1, 256).reshape(SHAPE)
    gen = torch.Generator("cpu").manual_seed(1)
    noise = torch.randn(SHAPE, generator=gen)
    latent_timestep = timesteps[:1]
    start = s.add_noise(init, noise, latent_timestep)
    REC.start()
    final, first, _, _ = run_loop(s, start, timesteps, gen, False)
    draws = REC.stop()
    entry = {
        "spacing": spacing,
        "num_inference_steps": n,
        "strength": IMG2IMG_STRENGTH,
        "t_start": t_start,
        "begin_index": (t_start * s.order) if begin_index_set else None,
        "full_timesteps": flist(s.timesteps),
        "timesteps": flist(timesteps),
        "add_noise_timestep": flist(latent_timestep),
        "noised_start_latents": flist(start),
        "noise_draw_count": len(draws),
        "first_step_latents": flist(first),
        "final_latents": flist(final),
    }
    return entry, draws


def main():
    os.makedirs(OUT, exist_ok=True)
    # shared inputs (identical for all variants)
    g0 = torch.Generator("cpu").manual_seed(0)
    g1 = torch.Generator("cpu").manual_seed(1)
    common = {
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "shape": list(SHAPE),
        "sdxl_config": SDXL_CONFIG,
        "initial_noise_seed0": flist(torch.randn(SHAPE, generator=g0)),
        "img2img_init_latents": flist(torch.linspace(-1, 1, 256).reshape(SHAPE)),
        "img2img_noise_seed1": flist(torch.randn(SHAPE, generator=g1)),
        "model_function": "eps = 0.8*x/(1 + float(t)/1000) + 0.1*torch.sin(torch.arange(x.numel()).reshape(x.shape)*0.37 + float(t)*0.01)",
    }
    with open(os.path.join(OUT, "_common.json"), "w") as f:
        json.dump(common, f)

    summary = []
    for name, cls, overrides in VARIANTS:
        try:
            probe = make(cls, overrides)
            traj_specs = [("leading", 4), ("leading", 8), ("trailing", 4)]
            if overrides.get("timestep_spacing") == "trailing":
                traj_specs = [("trailing", 4), ("trailing", 8), ("leading", 4)]
            img_spacing = overrides.get("timestep_spacing", "leading")
            data = {
                "variant": name,
                "class": cls.__name__,
                "overrides": overrides,
                "diffusers_version": diffusers.__version__,
                "torch_version": torch.__version__,
                "effective_config": split_config(cls, probe.config)[0],
                "hidden_config_ignored_by_class": split_config(cls, probe.config)[1],
                "step_accepts_generator": "generator" in inspect.signature(cls.step).parameters,
                "has_set_begin_index": hasattr(cls, "set_begin_index"),
                "schedules": do_schedules(cls, overrides),
                "trajectories": [],
            }
            for k, (sp, n) in enumerate(traj_specs):
                try:
                    entry, draws = do_trajectory(cls, overrides, sp, n, record_first_io=(k == 0))
                except Exception as e:  # noqa
                    entry, draws = {"spacing": sp, "steps": n, "error": f"{type(e).__name__}: {e}"}, []
                if draws and cls.__name__ != "EulerDiscreteScheduler":
                    # Euler (non-ancestral) draws noise every step but never uses it when s_churn=0
                    entry["noise_draws"] = [flist(d) for d in draws]
                data["trajectories"].append(entry)
            try:
                img, draws = do_img2img(cls, overrides, img_spacing)
                if draws and cls.__name__ != "EulerDiscreteScheduler":
                    img["noise_draws"] = [flist(d) for d in draws]
            except Exception as e:  # noqa
                img = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
            data["img2img"] = img
            with open(os.path.join(OUT, f"{name}.json"), "w") as f:
                json.dump(data, f)
            errs = [f"{e['spacing']}/{e['steps']}" for e in data["schedules"] if "error" in e]
            terr = [f"{e['spacing']}/{e['steps']}" for e in data["trajectories"] if "error" in e]
            summary.append((name, "ok", errs, terr, "error" in img))
        except Exception as e:  # noqa
            traceback.print_exc()
            summary.append((name, f"FAILED {type(e).__name__}: {e}", [], [], True))
    for row in summary:
        print(row)


if __name__ == "__main__":
    main()
