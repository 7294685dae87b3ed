"""The listening sessions played on the page: a person in the place of the simulator's user.

A session starts as the simulator starts one (sim.env's reset: a track near one of the user's
interests in the hidden world, drawn with the session's own seed) and its first request is the
simulator's: `POST /next` with that track and `time` 1.0 (sim.agents.base.FIRST_REWARD). Each
answer is the track now playing; the person says how much of it they listened to, and that
fraction goes to the next `/next` (or to `/last`, which ends the session), exactly as the
simulator's remote agent sends its user's reward. Only the first track comes from the hidden
world: after it the person's own taste replaces the simulated listener's.

A user plays one session at a time (as in the simulator): a second start while one is open is
refused, since the A/B report would read both as one session. Sessions left open, service
errors and the counts are kept here for the page to show."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field

from lab.listener.inputs import BadInput
from lab.listener.service_client import Arms, ServiceClient, ServiceError
from sim.agents.base import FIRST_REWARD
from sim.env import RecEnv
from sim.world import World

RECENT = 20  # ended sessions the page lists


@dataclass
class Play:
    track: int
    time: float | None = None  # the listened fraction; None while it plays


@dataclass
class Session:
    user: int
    first: int  # the track the session started from, listened to in full
    arms: Arms | None = None
    plays: list[Play] = field(default_factory=list)  # the recommended tracks, the last playing
    busy: threading.Lock = field(default_factory=threading.Lock)

    @property
    def playing(self) -> int:
        return self.plays[-1].track

    @property
    def listened(self) -> float:
        """The fractions said so far (the first track's 1.0 aside, as the simulator counts)."""
        return sum(play.time for play in self.plays if play.time is not None)


@dataclass
class Counts:
    started: int = 0  # sessions whose first /next was answered
    ended: int = 0  # sessions whose /last was answered
    listens: int = 0  # fractions sent and answered
    service_errors: int = 0
    last_error: str | None = None


class Listener:
    def __init__(self, world: World, client: ServiceClient, seed: int | None = None) -> None:
        self.world = world
        self.client = client
        self.env = RecEnv(world)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()  # guards the env, the rng and the tables below
        self.open: dict[int, Session] = {}
        self.used: set[int] = set()  # users who started a session here
        self.ended: deque[Session] = deque(maxlen=RECENT)  # the latest ended, newest first
        self.counts = Counts()
        self.catalog_checked: str | None = None  # None: not checked yet; "": the same catalog

    def describe(self, track: int) -> dict:
        catalog = self.world.catalog
        artist = catalog.artist_names[int(catalog.track_artist[track])]
        return {
            "track": track,
            "title": catalog.titles[track],
            "artist": artist,
            "genre": catalog.genres[track],
        }

    def catalog_problem(self) -> str | None:
        """What differs between the service's catalog and the world's, the page showing the
        world's titles: its first and last tracks compared, once the service has answered."""
        if self.catalog_checked is None:
            try:
                problems = [self._differs(track) for track in (0, self.world.n_tracks - 1)]
            except ServiceError as error:
                if error.status != 404:
                    return None  # not answering now: the page says so already; check later
                problems = [f"{error.message}, though the world has it"]
            self.catalog_checked = next(filter(None, problems), "")
        return self.catalog_checked or None

    def _differs(self, track: int) -> str:
        theirs, ours = self.client.track(track), self.describe(track)
        if (theirs.get("title"), theirs.get("artist")) == (ours["title"], ours["artist"]):
            return ""
        return (
            f"the service's catalog is not this world's: its track {track} is "
            f"{theirs.get('title')!r} by {theirs.get('artist')!r}, the world's "
            f"{ours['title']!r} by {ours['artist']!r}; the page would show the wrong tracks "
            "(start botify listen with the world the service serves: --sim-config)"
        )

    def suggest_user(self) -> int | None:
        """A random user of the world who has not played here yet (None: every one has)."""
        with self.lock:
            n_users = self.world.n_users
            if len(self.used) >= n_users:
                return None
            while True:
                user = self.rng.randrange(n_users)
                if user not in self.used:
                    return user

    def session(self, user: int) -> Session:
        with self.lock:
            session = self.open.get(user)
        if session is None:
            raise BadInput(f"user {user} has no session open on this page", status=404)
        if not session.plays:
            raise BadInput(f"user {user}: the session is starting, try again in a moment", 409)
        return session

    def is_open(self, session: Session) -> bool:
        with self.lock:
            return self.open.get(session.user) is session

    def open_sessions(self) -> list[Session]:
        with self.lock:
            started = [session for session in self.open.values() if session.plays]
        return sorted(started, key=lambda session: session.user)

    def ended_sessions(self) -> list[Session]:
        with self.lock:
            return list(self.ended)

    def _failed(self, error: ServiceError) -> ServiceError:
        with self.lock:
            self.counts.service_errors += 1
            self.counts.last_error = error.message
        return error

    def _recommended(self, user: int, track: int) -> int:
        if not 0 <= track < self.world.n_tracks:
            raise ServiceError(
                f"POST {self.client.url}/next/{user} answered track {track}, not in the "
                f"simulated world's catalog (0..{self.world.n_tracks - 1})"
            )
        return track

    def start(self, user: int) -> Session:
        """A new session of `user`, its first track played and the service's answer playing."""
        with self.lock:
            if user in self.open:
                raise BadInput(
                    f"user {user} has a session open on this page: end it before starting "
                    "another (one session at a time per user, as in the simulator)",
                    status=409,
                )
            self.env.reset(seed=self.rng.getrandbits(63), options={"user": user})
            assert self.env.session is not None
            session = Session(user, self.env.session.track)
            session.busy.acquire()  # held until the first track plays
            self.open[user] = session
        try:
            track = self._recommended(user, self.client.next(user, session.first, FIRST_REWARD))
        except ServiceError as error:
            with self.lock:
                del self.open[user]
            raise self._failed(error) from None
        finally:
            session.busy.release()
        session.plays.append(Play(track))
        session.arms = self.client.arms(user)
        with self.lock:
            self.used.add(user)
            self.counts.started += 1
        return session

    def _take(self, user: int) -> Session:
        """The user's open session, held for one request (a second click waits for none)."""
        session = self.session(user)
        if not session.busy.acquire(blocking=False):
            raise BadInput(f"user {user}: a request of this session is already on its way", 409)
        with self.lock:
            still_open = self.open.get(user) is session
        if not still_open:  # ended by a request that held it just before
            session.busy.release()
            raise BadInput(f"user {user} has no session open on this page", status=404)
        return session

    def listen(self, user: int, time: float) -> Session:
        """`user` listened to `time` of the track playing: the service's next track plays."""
        session = self._take(user)
        try:
            try:
                track = self._recommended(user, self.client.next(user, session.playing, time))
            except ServiceError as error:
                raise self._failed(error) from None  # the same track still plays: try again
            session.plays[-1].time = time
            session.plays.append(Play(track))
        finally:
            session.busy.release()
        with self.lock:
            self.counts.listens += 1
        return session

    def end(self, user: int, time: float) -> Session:
        """`user` listened to `time` of the track playing and ended the session (`/last`)."""
        session = self._take(user)
        try:
            try:
                self.client.last(user, session.playing, time)
            except ServiceError as error:
                raise self._failed(error) from None  # still open: try again
            session.plays[-1].time = time
            with self.lock:
                del self.open[user]
                self.ended.appendleft(session)
                self.counts.ended += 1
                self.counts.listens += 1
        finally:
            session.busy.release()
        return session
