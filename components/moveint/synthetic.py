"""Synthetic two-agent interactions (spec §4.1): reach → interact → retreat, 3-joint right arms, 4 actions.

Pure numpy; every demo is drawn from its own derived seed, so a demo does not depend on how many
others are drawn. Positions are in metres relative to the human shoulder at frame 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


HUMAN_SHOULDER = np.array([0.0, 0.0, 1.40])
PHASES = ("reach", "interact", "retreat")
COUPLED = {"handshake", "rocket_fistbump", "parachute_fistbump"}  # both wrists move together on one clock


@dataclass(frozen=True)
class Demo:
    """One generated demonstration (arrays per frame)."""

    action: int
    human_pos: np.ndarray  # (T, 3 joints, 3) before noise, world frame
    robot_pos: np.ndarray  # (T, 3, 3)
    human_phase: np.ndarray  # (T,) 0/1/2
    robot_phase: np.ndarray  # (T,)
    noise_h: np.ndarray  # (T, 3, 3)
    noise_r: np.ndarray


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 10s³ − 15s⁴ + 6s⁵ on s clipped to [0, 1]."""
    s = np.clip(s, 0.0, 1.0)
    return s ** 3 * (10 - 15 * s + 6 * s ** 2)


def two_link_ik(shoulder: np.ndarray, wrist: np.ndarray, l1: float, l2: float, pole: np.ndarray):
    """Analytic 2-link IK per frame: (elbow, wrist) with the wrist pulled in to 0.98·(l1+l2) when out of reach."""
    diff = wrist - shoulder
    d = np.linalg.norm(diff, axis=-1, keepdims=True)
    u = diff / np.maximum(d, 1e-12)
    d = np.minimum(d, 0.98 * (l1 + l2))
    wrist = shoulder + u * d
    cos_a = np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / (2 * l1 * d), -1.0, 1.0)
    a = np.arccos(cos_a)
    n = pole - (u @ pole)[..., None] * u
    n = n / np.linalg.norm(n, axis=-1, keepdims=True)
    elbow = shoulder + l1 * (np.cos(a) * u + np.sin(a) * n)
    return elbow, wrist


def _phase_labels(t: np.ndarray, t1: float, t2: float) -> np.ndarray:
    return np.where(t < t1, 0, np.where(t < t2, 1, 2)).astype(np.int64)


def _interaction(action: str, tau: np.ndarray, knobs, meet: np.ndarray, wave_base: np.ndarray, sign: float,
                 wave_f: float, dur: float) -> np.ndarray:
    """Wrist position during the interaction, τ seconds after the (human's, for coupled actions) start."""
    tau = np.clip(tau, 0.0, dur)[:, None]
    if action == "waving":
        return wave_base + np.hstack([0 * tau, sign * knobs.wave_amplitude_m * np.sin(2 * np.pi * wave_f * tau),
                                      0 * tau])
    if action == "handshake":
        return meet + np.hstack([0 * tau, 0 * tau,
                                 knobs.handshake_amp_m * np.sin(2 * np.pi * knobs.handshake_freq_hz * tau)])
    if action == "rocket_fistbump":
        return meet + np.hstack([0 * tau, 0 * tau, knobs.rocket_rise_m * min_jerk(tau / dur)])
    if action == "parachute_fistbump":
        return meet + np.hstack([0 * tau, knobs.parachute_amp_m * np.sin(2 * np.pi * knobs.parachute_freq_hz * tau),
                                 -knobs.parachute_descend_m * min_jerk(tau / dur)])
    raise ValueError(f"unknown action {action!r}")


def _wrist_path(action: str, t: np.ndarray, start: float, end: float, clock0: float, rest: np.ndarray,
                f_args: tuple, dur: float, local_clock: bool) -> np.ndarray:
    """Rest → (min-jerk) interaction start → interaction, for one agent (NaN from ``end``: the caller adds
    the retreat). ``local_clock``: the interaction runs on the agent's own clock (waving), else on the
    human's (coupled actions: both wrists move together)."""
    def f(times):
        tau = times - (start if local_clock else clock0)
        return _interaction(action, np.atleast_1d(tau), *f_args, dur=dur)

    p_start, p_end = f(np.array([start]))[0], f(np.array([end]))[0]
    reach = rest + (p_start - rest) * min_jerk(t / max(start, 1e-9))[:, None]
    inter = f(t)
    return np.where((t < start)[:, None], reach, np.where((t < end)[:, None], inter, np.nan))


def generate_demo(knobs, action_idx: int, seed: int) -> Demo:
    """One demo (spec §4.1 construction steps 1–4)."""
    rng = np.random.default_rng(seed)
    action = knobs.actions[action_idx]
    fps = knobs.fps
    T = int(round(knobs.base_duration_s * fps * rng.uniform(*knobs.time_scale)))
    dur_s = (T - 1) / fps
    fr = np.cumsum(knobs.phase_fractions)[:2] + rng.uniform(-knobs.phase_jitter, knobs.phase_jitter, 2)
    t1, t2 = fr[0] * dur_s, fr[1] * dur_s
    dist = rng.uniform(*knobs.agent_distance_m)
    s_h = HUMAN_SHOULDER.copy()
    s_r = HUMAN_SHOULDER + np.array([dist, 0.0, 0.0])
    meet = np.array([dist / 2, 0.0, knobs.meet_height_m.get(action, 1.10)]) + rng.normal(0, knobs.meet_jitter_m, 3)
    wave_f = rng.uniform(*knobs.wave_freq_hz)
    lag_lo, lag_hi = knobs.waving_lag_frames if action == "waving" else knobs.robot_lag_frames
    lag = int(rng.integers(lag_lo, lag_hi + 1)) / fps
    off = np.array(knobs.rest_wrist_offset)
    wb = np.array(knobs.wave_wrist_offset)
    rest_h = s_h + off
    rest_r = s_r + off * np.array([-1.0, 1.0, 1.0])  # the robot faces −x
    t = np.arange(T) / fps
    dur = t2 - t1
    paths = []
    for who, s, rest, sign, wave_base in (("h", s_h, rest_h, 1.0, s_h + wb),
                                          ("r", s_r, rest_r, -1.0, s_r + wb * np.array([-1.0, 1.0, 1.0]))):
        delay = 0.0 if who == "h" else lag
        start, end = t1 + delay, t2 + delay
        f_args = (knobs, meet, wave_base, sign, wave_f)
        local = action not in COUPLED
        w = _wrist_path(action, t, start, end, t1, rest, f_args, dur, local)
        # retreat: min-jerk from the interaction end point back to rest over the human's retreat duration
        tau0 = end - (start if local else t1)
        p_end = _interaction(action, np.array([tau0]), *f_args, dur=dur)[0]
        back = p_end + (rest - p_end) * min_jerk((t - end) / max(dur_s - t2, 1e-9))[:, None]
        w = np.where((t >= end)[:, None], back, w)
        pole = np.array([0.0, -1.0, -1.0]) if who == "h" else np.array([0.0, 1.0, -1.0])
        elbow, w = two_link_ik(np.broadcast_to(s, w.shape), w, knobs.upper_arm_m, knobs.forearm_m,
                               pole / np.linalg.norm(pole))
        paths.append((np.stack([np.broadcast_to(s, w.shape), elbow, w], axis=1), _phase_labels(t, start, end)))
    (hp, hph), (rp, rph) = paths
    noise_h = rng.normal(0, knobs.noise_std_m, hp.shape)
    noise_r = rng.normal(0, knobs.noise_std_m, rp.shape)
    return Demo(action_idx, hp, rp, hph, rph, noise_h, noise_r)


def agent_frames(pos: np.ndarray) -> np.ndarray:
    """(T, 3, 3) positions (already noisy, already relative) → (T, 18) [positions (9), velocities (9)]."""
    flat = pos.reshape(len(pos), 9)
    vel = np.diff(flat, axis=0, prepend=flat[:1])  # v_0 = 0, as in the phd_utils loaders
    return np.hstack([flat, vel])


def pepper_angles(pos: np.ndarray) -> np.ndarray:
    """Robot-arm positions (T, 3, 3) world frame → 4 Pepper angles [pitch, yaw, roll, elbow] (spec §4.1).

    The arm is first expressed in the robot's own frame (facing −x: x → −x, y → −y)."""
    flip = np.array([-1.0, -1.0, 1.0])
    u = (pos[:, 1] - pos[:, 0]) * flip
    f = (pos[:, 2] - pos[:, 1]) * flip
    un = np.linalg.norm(u, axis=1)
    fn = np.linalg.norm(f, axis=1)
    elbow = np.clip(np.arccos(np.clip((u * f).sum(1) / (un * fn), -1, 1)), 0.0087, 1.562)
    yaw = np.clip(np.arcsin(np.clip(np.minimum(u[:, 1], -0.0087) / un, -1, 1)), -1.562, -0.0087)
    pitch = np.arctan2(np.maximum(u[:, 0], 0.0), u[:, 2]) - np.pi / 2
    # forearm rebuilt from (pitch, yaw, elbow) with zero roll; roll = angle to the observed forearm
    uh = u / un[:, None]
    ref = np.cross(uh, np.array([0.0, 0.0, 1.0]))
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-9)
    f0 = np.cos(elbow)[:, None] * uh + np.sin(elbow)[:, None] * np.cross(ref, uh)
    cos_r = np.clip((f0 * f).sum(1) / fn, -1, 1)
    roll = np.arccos(cos_r)
    return np.stack([pitch, yaw, roll, elbow], axis=1)
