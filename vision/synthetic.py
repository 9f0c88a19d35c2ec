"""Keypoint sequences of people doing what people do in a station, seen through a CCTV camera: what the behaviour models
learn from, what the held-out evaluation measures on, and what a simulated camera sees (no pixels anywhere).

A person is a 3-D skeleton of the 17 COCO keypoints (``vision.pose.KEYPOINTS``) built by forward
kinematics from a few joint angles (the torso's lean, each hip, knee, shoulder and elbow) and
their height; an activity is those angles, where the person stands and which way they face, as
functions of time. The camera stands 2.5-4 m up, looks down 20-60 degrees, and projects
through a pinhole onto its frame (448x256 unless told). The pose model's own ways of being
wrong are added on top (``Noise``): jitter, keypoints it does not see, people lying down that it
misses, frames that repeat.

Coordinates: metres, x east, y north, z up; a person facing ``heading`` (radians from +y,
clockwise seen from above) has their right to +x when the heading is 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from vision.pose import KEYPOINTS

J = {name: n for n, name in enumerate(KEYPOINTS)}


class Activity(StrEnum):
    STAND = "stand"
    WALK = "walk"
    SIT = "sit"
    LIE = "lie"
    FALL = "fall"
    SMOKE = "smoke"
    DRINK = "drink"
    PHONE = "phone"
    EAT = "eat"
    ARGUE = "argue"
    PUSH = "push"
    TALK = "talk"
    HUG = "hug"
    SHAKE_HANDS = "shake_hands"


@dataclass(frozen=True)
class Body:
    height_m: float = 1.72
    build: float = 1.0
    """Shoulder and hip width against an average build."""


@dataclass(frozen=True)
class Posture:
    """The angles a pose is made of (radians) and where the body is; zero angles: standing straight, arms down."""

    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0
    pelvis_z: float | None = None
    """Height of the hips above the floor; None: standing on straight legs."""
    lean: float = 0.0
    """The torso bent forward at the hips."""
    tilt: float = 0.0
    """The whole body tipped over (forward, about the feet): pi/2 is lying face down."""
    roll: float = 0.0
    """The whole body tipped sideways."""
    about_hips: bool = False
    """Tipped about the hips (lying down on a bench from sitting) rather than the feet (a fall)."""
    hip: tuple[float, float] = (0.0, 0.0)
    """Each thigh raised forward (left, right)."""
    knee: tuple[float, float] = (0.0, 0.0)
    shoulder: tuple[float, float] = (0.0, 0.0)
    """Each upper arm raised forward."""
    shoulder_out: tuple[float, float] = (0.1, 0.1)
    """Each upper arm raised out to the side."""
    elbow: tuple[float, float] = (0.0, 0.0)
    head_pitch: float = 0.0


def skeleton(body: Body, pose: Posture) -> np.ndarray:
    """The 17 keypoints in the world, (17, 3), by forward kinematics."""
    h, w = body.height_m, body.build
    thigh, shin = 0.245 * h, 0.246 * h
    upper_arm, forearm = 0.186 * h, 0.146 * h
    points = np.zeros((17, 3))
    hip_z = skeleton_hip_height(body) if pose.pelvis_z is None else pose.pelvis_z
    torso_up = np.array([0.0, math.sin(pose.lean), math.cos(pose.lean)])  # local: x right, y forward, z up
    pelvis = np.array([0.0, 0.0, hip_z])
    neck = pelvis + torso_up * 0.29 * h
    for side, sign in (("left", -1.0), ("right", 1.0)):
        n = 0 if side == "left" else 1
        hip = pelvis + np.array([sign * 0.09 * h * w, 0.0, 0.0])
        thigh_dir = np.array([0.0, math.sin(pose.hip[n]), -math.cos(pose.hip[n])])
        knee = hip + thigh_dir * thigh
        shin_angle = pose.hip[n] - pose.knee[n]
        ankle = knee + np.array([0.0, math.sin(shin_angle), -math.cos(shin_angle)]) * shin
        shoulder = neck + np.array([sign * 0.13 * h * w, 0.0, -0.02 * h])
        forward, out = pose.shoulder[n], pose.shoulder_out[n]
        arm_dir = np.array([sign * math.sin(out), math.sin(forward) * math.cos(out), -math.cos(forward) * math.cos(out)])
        elbow = shoulder + arm_dir * upper_arm
        bend = forward + pose.elbow[n]
        forearm_dir = np.array([sign * math.sin(out) * 0.5, math.sin(bend), -math.cos(bend)])
        wrist = elbow + forearm_dir / np.linalg.norm(forearm_dir) * forearm
        points[J[f"{side}_hip"]], points[J[f"{side}_knee"]], points[J[f"{side}_ankle"]] = hip, knee, ankle
        points[J[f"{side}_shoulder"]], points[J[f"{side}_elbow"]], points[J[f"{side}_wrist"]] = shoulder, elbow, wrist
    head_up = np.array([0.0, math.sin(pose.lean + pose.head_pitch), math.cos(pose.lean + pose.head_pitch)])
    head = neck + head_up * 0.1 * h
    face = np.array([0.0, math.cos(pose.lean + pose.head_pitch), -math.sin(pose.lean + pose.head_pitch)])
    points[J["nose"]] = head + face * 0.1 * h
    for side, sign in (("left", -1.0), ("right", 1.0)):
        points[J[f"{side}_eye"]] = head + face * 0.085 * h + np.array([sign * 0.032 * h, 0.0, 0.025 * h])
        points[J[f"{side}_ear"]] = head + np.array([sign * 0.075 * h, 0.0, 0.01 * h])
    # Tipped over about the feet (a fall), then turned to face the heading and put where the person is.
    pivot = (
        (points[J["left_hip"]] + points[J["right_hip"]]) / 2
        if pose.about_hips
        else (points[J["left_ankle"]] + points[J["right_ankle"]]) / 2
    )
    points = (points - pivot) @ _rotation_x(-pose.tilt).T @ _rotation_y(pose.roll).T + pivot
    points[:, 2] = np.maximum(points[:, 2] - min(0.0, float(points[:, 2].min())), 0.0)  # nobody sinks into the floor
    placed: np.ndarray = points @ _rotation_z(-pose.heading).T + np.array([pose.x, pose.y, 0.0])
    return placed


def _rotation_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rotation_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rotation_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@dataclass(frozen=True)
class CCTV:
    """A camera up on a wall: where, how high, which way, how far down it looks, and its picture."""

    x: float = 0.0
    y: float = 0.0
    height_m: float = 3.0
    heading: float = 0.0
    """Which way it looks, as a person's heading."""
    pitch: float = math.radians(35)
    """How far below the horizon it looks."""
    fov: float = math.radians(90)
    """Horizontal field of view."""
    width: int = 448
    height: int = 256

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions (n, 2) of world points (n, 3), and which are in front of the camera."""
        relative = points - np.array([self.x, self.y, self.height_m])
        local = relative @ _rotation_z(self.heading).T  # x right, y ahead, z up
        c, s = math.cos(self.pitch), math.sin(self.pitch)
        forward = local[:, 1] * c - local[:, 2] * s
        up = local[:, 1] * s + local[:, 2] * c
        focal = self.width / 2 / math.tan(self.fov / 2)
        ahead = forward > 0.1
        depth = np.where(ahead, forward, 0.1)
        pixels = np.stack([self.width / 2 + focal * local[:, 0] / depth, self.height / 2 - focal * up / depth], axis=1)
        return pixels, ahead


@dataclass(frozen=True)
class Noise:
    """The pose model's ways of being wrong, as this project measured and the issue describes them."""

    jitter: float = 0.01
    """Of the person's height in the picture, the spread of each keypoint's error."""
    dropped: float = 0.05
    """Share of keypoints not seen (scored low)."""
    missed_lying: float = 0.6
    """Chance a person lying down is not found at all in a frame (MoveNet misses most rotated people)."""
    stale: float = 0.02
    """Share of frames that repeat the one before (a stuck encoder, a dropped frame)."""


NO_NOISE = Noise(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Seen:
    """One person in one frame, as the pose stage reports them (``vision.pose.Person``'s shape) and who it truly is."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    truth: int
    activity: Activity


Script = Callable[[float], Posture]


@dataclass
class Actor:
    """One person in a clip: who, and what they do when (``script(t)``)."""

    truth: int
    body: Body
    activity: Activity
    script: Script
    events: dict[str, float] = field(default_factory=dict)
    """What happened when (``fell`` at the moment the body hit the floor)."""


def clip(actors: list[Actor], camera: CCTV, seconds: float, fps: float, noise: Noise, rng: np.random.Generator) -> list[list[Seen]]:
    """Every frame's people as the pose stage would list them."""
    frames: list[list[Seen]] = []
    for n in range(int(seconds * fps)):
        t = n / fps
        if frames and rng.random() < noise.stale:
            frames.append(frames[-1])
            continue
        frame = []
        for actor in actors:
            seen = _seen(actor, actor.script(t), camera, noise, rng)
            if seen is not None:
                frame.append(seen)
        frames.append([frame[k] for k in rng.permutation(len(frame))])  # the pose stage lists people in no set order
    return frames


def _seen(actor: Actor, pose: Posture, camera: CCTV, noise: Noise, rng: np.random.Generator) -> Seen | None:
    pixels, ahead = camera.project(skeleton(actor.body, pose))
    if not ahead.all():
        return None
    lying = abs(pose.tilt) > math.radians(60) or abs(pose.roll) > math.radians(60)
    if lying and rng.random() < noise.missed_lying:
        return None
    tall = float(np.ptp(pixels[:, 1])) or 1.0
    points = np.column_stack([pixels + rng.normal(0.0, noise.jitter * tall, pixels.shape), rng.uniform(0.5, 0.95, 17)])
    dropped = rng.random(17) < noise.dropped
    points[dropped, 2] = rng.uniform(0.0, 0.15, int(dropped.sum()))
    inside = (points[:, 0] >= 0) & (points[:, 0] < camera.width) & (points[:, 1] >= 0) & (points[:, 1] < camera.height)
    if inside.sum() < 5:
        return None  # mostly out of the picture
    points[~inside, 2] = 0.0
    margin = 0.05 * tall
    box = (  # clipped to the picture, as the pose stage's boxes are
        max(float(points[:, 0].min() - margin), 0.0),
        max(float(points[:, 1].min() - margin), 0.0),
        min(float(points[:, 0].max() + margin), float(camera.width)),
        min(float(points[:, 1].max() + margin), float(camera.height)),
    )
    return Seen(box, points.astype(np.float32), actor.truth, actor.activity)


# ---- activities: each a function of time giving the posture ------------------------------------------------------


def standing(x: float, y: float, heading: float) -> Script:
    return lambda t: Posture(x, y, heading, shoulder=(0.05 * math.sin(t), 0.05 * math.sin(t + 1)))


def walking(x: float, y: float, heading: float, speed: float = 1.2, cadence: float = 1.8) -> Script:
    """Straight on at ``speed`` (m/s), ``cadence`` steps a second, arms swinging against the legs."""

    def at(t: float) -> Posture:
        phase = 2 * math.pi * cadence / 2 * t
        swing = 0.35 * math.sin(phase)
        distance = speed * t
        return Posture(
            x + distance * math.sin(heading), y + distance * math.cos(heading), heading,
            hip=(swing, -swing), knee=(0.3 * max(0.0, -math.sin(phase)), 0.3 * max(0.0, math.sin(phase))),
            shoulder=(-0.5 * swing, 0.5 * swing), elbow=(0.2, 0.2),
        )  # fmt: skip

    return at


def sitting(x: float, y: float, heading: float, seat_m: float = 0.45) -> Script:
    return lambda t: Posture(x, y, heading, pelvis_z=seat_m, lean=0.1, hip=(1.5, 1.5), knee=(1.5, 1.5), elbow=(0.6, 0.6))


def hand_to_mouth(base: Script, every_s: float, hold_s: float, rise_s: float = 0.6, hand: int = 1, offset_s: float = 0.0) -> Script:
    """``base`` with one hand brought to the mouth every ``every_s``, held ``hold_s``: smoking, drinking, eating."""

    def at(t: float) -> Posture:
        pose = base(t)
        into = (t + offset_s) % every_s
        if into < rise_s:
            up = into / rise_s
        elif into < rise_s + hold_s:
            up = 1.0
        elif into < 2 * rise_s + hold_s:
            up = 1.0 - (into - rise_s - hold_s) / rise_s
        else:
            return pose
        shoulder, elbow, out = list(pose.shoulder), list(pose.elbow), list(pose.shoulder_out)
        # At the mouth: the upper arm raised 1.55 rad forward and 0.5 across, the elbow bent 2.05 (found by search).
        shoulder[hand] += up * (1.55 - shoulder[hand])
        elbow[hand] += up * (2.05 - elbow[hand])
        out[hand] += up * (-0.5 - out[hand])
        return Posture(**{**pose.__dict__, "shoulder": tuple(shoulder), "elbow": tuple(elbow), "shoulder_out": tuple(out)})

    return at


def phoning(base: Script, hand: int = 1) -> Script:
    """A hand held at the ear (a call): near the face for minutes, unlike smoking's rhythm."""

    def at(t: float) -> Posture:
        pose = base(t)
        shoulder, elbow, out = list(pose.shoulder), list(pose.elbow), list(pose.shoulder_out)
        shoulder[hand], elbow[hand], out[hand] = 2.0, 2.4, -0.2  # the hand at the ear (found by search)
        return Posture(**{**pose.__dict__, "shoulder": tuple(shoulder), "elbow": tuple(elbow), "shoulder_out": tuple(out)})

    return at


def falling(base: Script, at_s: float, duration_s: float, direction: str = "forward") -> Script:
    """``base`` until ``at_s``, then a fall lasting ``duration_s`` (knees buckling, the body tipping over, faster as it
    goes), then lying still where it landed."""

    def at(t: float) -> Posture:
        pose = base(min(t, at_s))
        if t <= at_s:
            return pose
        done = min(1.0, (t - at_s) / duration_s) ** 2
        buckle = 0.8 * math.sin(math.pi * min(1.0, (t - at_s) / duration_s))
        over = {"forward": (math.pi / 2, 0.0), "backward": (-math.pi / 2, 0.0), "sideways": (0.0, math.pi / 2)}[direction]
        return Posture(**{
            **pose.__dict__, "tilt": over[0] * done, "roll": over[1] * done, "knee": (buckle, buckle), "hip": (buckle / 2, buckle / 2),
            "shoulder": (0.8 * done, 0.6 * done), "pelvis_z": None,
        })  # fmt: skip

    return at


def lying(x: float, y: float, heading: float) -> Script:
    """Asleep on a bench or the floor: on the back, arms by the side."""
    return lambda t: Posture(x, y, heading, tilt=-math.pi / 2, shoulder=(0.1, 0.1))


def sitting_down(
    x: float, y: float, heading: float, at_s: float, duration_s: float = 1.0, seat_m: float = 0.45, body: Body = Body()
) -> Script:
    """Standing, then sitting down on a seat over ``duration_s`` (a quick drop of the hips with the torso upright: the
    look-alike of a fall that a model must not take for one)."""
    stand, sit = standing(x, y, heading), sitting(x, y, heading, seat_m)

    def at(t: float) -> Posture:
        if t <= at_s:
            return stand(t)
        done = min(1.0, (t - at_s) / duration_s)
        a, b = stand(t), sit(t)
        hip_z = skeleton_hip_height(body) * (1 - done) + seat_m * done
        return Posture(
            x, y, heading, pelvis_z=hip_z, lean=b.lean * done, hip=(b.hip[0] * done, b.hip[1] * done),
            knee=(b.knee[0] * done, b.knee[1] * done), shoulder=a.shoulder, elbow=(b.elbow[0] * done, b.elbow[1] * done),
        )  # fmt: skip

    return at


def lying_down(x: float, y: float, heading: float, at_s: float, duration_s: float = 4.0) -> Script:
    """Sitting on a bench, then lying down on it slowly to sleep: lying at the end, as after a fall, but gently."""
    sit = sitting(x, y, heading)

    def at(t: float) -> Posture:
        if t <= at_s:
            return sit(t)
        done = min(1.0, (t - at_s) / duration_s)
        pose = sit(t)
        return Posture(**{**pose.__dict__, "roll": (math.pi / 2) * done, "about_hips": True})

    return at


def skeleton_hip_height(body: Body) -> float:
    """How high the hips stand above the floor on straight legs."""
    return (0.245 + 0.246 + 0.04) * body.height_m


# ---- two people: a dispute and its look-alikes --------------------------------------------------------------------


def facing(x: float, y: float, axis: float, gap_m: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Two people ``gap_m`` apart about (x, y) on a line at heading ``axis``, each facing the other: (x, y, heading)
    twice."""
    dx, dy = gap_m / 2 * math.sin(axis), gap_m / 2 * math.cos(axis)
    return (x - dx, y - dy, axis), (x + dx, y + dy, axis + math.pi)


def _with(pose: Posture, **changes: object) -> Posture:
    return Posture(**{**pose.__dict__, **changes})


def gesturing(base: Script, rate_hz: float, reach: float, phase: float = 0.0, sway_m: float = 0.0) -> Script:
    """``base`` talking with the hands: both arms swing up and out ``reach`` radians at about ``rate_hz`` (two
    frequencies, so no two swings are alike), the torso nods with them, and the feet step ``sway_m`` to and fro along
    the heading. A calm talker's reach is a few tenths; an angry one's a radian or more, with steps in and out."""

    def at(t: float) -> Posture:
        pose = base(t)
        w = 2 * math.pi * rate_hz * t + phase
        left = 0.5 + 0.5 * math.sin(w) * 0.7 + 0.3 * math.sin(1.7 * w + 1.0)
        right = 0.5 + 0.5 * math.sin(w + 2.1) * 0.7 + 0.3 * math.sin(1.3 * w + 2.0)
        step = sway_m * math.sin(0.45 * w + 0.5)
        return _with(
            pose, x=pose.x + step * math.sin(pose.heading), y=pose.y + step * math.cos(pose.heading),
            shoulder=(pose.shoulder[0] + reach * left, pose.shoulder[1] + reach * right),
            shoulder_out=(0.1 + 0.4 * reach * (1 - left), 0.1 + 0.4 * reach * (1 - right)),
            elbow=(0.4 + 0.8 * reach * right, 0.4 + 0.8 * reach * left), lean=pose.lean + 0.08 * reach * math.sin(w),
            head_pitch=0.1 * reach * math.sin(1.9 * w),
        )  # fmt: skip

    return at


def shoving(base: Script, every_s: float, offset_s: float = 0.0) -> Script:
    """``base`` thrusting both arms straight out at the person in front every ``every_s`` (a push: 0.25 s out, back over
    half a second)."""

    def at(t: float) -> Posture:
        pose = base(t)
        into = (t + offset_s) % every_s
        out = min(1.0, into / 0.25) if into < 0.25 else max(0.0, 1.0 - (into - 0.25) / 0.5)
        return _with(
            pose, shoulder=tuple(s + out * (1.45 - s) for s in pose.shoulder), elbow=tuple(e * (1 - out) for e in pose.elbow),
            shoulder_out=(0.05, 0.05) if out > 0.5 else pose.shoulder_out, lean=pose.lean + 0.25 * out,
        )  # fmt: skip

    return at


def shoved(base: Script, every_s: float, offset_s: float = 0.0, distance_m: float = 0.5) -> Script:
    """``base`` pushed backwards ``distance_m`` at each of ``shoving``'s pushes (over 0.3 s, the torso thrown back, the
    arms out for balance), then stepping back in over a second and a half."""

    def at(t: float) -> Posture:
        pose = base(t)
        into = (t + offset_s) % every_s - 0.15
        if into < 0:
            return pose
        back = min(1.0, into / 0.3) if into < 0.3 else max(0.0, 1.0 - (into - 0.3) / 1.5)
        thrown = max(0.0, 1.0 - abs(into - 0.3) / 0.4)
        return _with(
            pose, x=pose.x - distance_m * back * math.sin(pose.heading), y=pose.y - distance_m * back * math.cos(pose.heading),
            lean=pose.lean - 0.35 * thrown, shoulder_out=(0.1 + 0.9 * thrown, 0.1 + 0.9 * thrown),
            hip=(0.3 * thrown, -0.2 * thrown), knee=(0.3 * thrown, 0.1 * thrown),
        )  # fmt: skip

    return at


def hugging(base: Script, at_s: float, hold_s: float, step_m: float) -> Script:
    """``base`` stepping ``step_m`` towards the other from ``at_s`` (0.8 s), arms round them for ``hold_s``, then
    letting go and stepping back."""

    def at(t: float) -> Posture:
        pose = base(t)
        into = t - at_s
        if into < 0 or into > hold_s + 1.6:
            return pose
        near = min(1.0, into / 0.8, (hold_s + 1.6 - into) / 0.8)
        return _with(
            pose, x=pose.x + step_m * near * math.sin(pose.heading), y=pose.y + step_m * near * math.cos(pose.heading),
            shoulder=(1.3 * near, 1.3 * near), shoulder_out=(0.1 - 0.5 * near, 0.1 - 0.5 * near), elbow=(1.1 * near, 1.1 * near),
            lean=0.1 * near,
        )  # fmt: skip

    return at


def shaking_hands(base: Script, at_s: float, hold_s: float) -> Script:
    """``base`` holding out the right hand from ``at_s`` and shaking it (three pumps a second) for ``hold_s``."""

    def at(t: float) -> Posture:
        pose = base(t)
        into = t - at_s
        if into < 0 or into > hold_s + 0.8:
            return pose
        out = min(1.0, into / 0.4, (hold_s + 0.8 - into) / 0.4)
        pump = 0.12 * math.sin(2 * math.pi * 3 * into) if 0.4 < into < hold_s + 0.4 else 0.0
        return _with(pose, shoulder=(pose.shoulder[0], 0.8 * out + pump), elbow=(pose.elbow[0], 0.5 * out), shoulder_out=(0.1, 0.0))

    return at


def walking_to(x: float, y: float, heading: float, walk_s: float, speed: float, then: Script) -> Script:
    """Walking along ``heading`` for ``walk_s`` to arrive at (x, y), then ``then``."""
    start_x, start_y = x - speed * walk_s * math.sin(heading), y - speed * walk_s * math.cos(heading)
    walk = walking(start_x, start_y, heading, speed=speed)
    return lambda t: walk(t) if t < walk_s else then(t)
