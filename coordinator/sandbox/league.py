"""Deterministic generation of the sandbox league: teams, rosters, schedule and raw box scores.

Each player has a registry status: ``original`` (resolved before the season), ``late`` (name mismatch fixed
by a registry resolution dated ``LATE_RESOLUTION_AT``) or ``never`` (still unresolved). The late resolutions
come after Phase 3 processed Jan 21 and before it processed Jan 22, which is why Jan 1-21 miss those players.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

SEED = 20260127
FIRST_GAME_DATE = date(2026, 1, 1)
INCIDENT_DATE = date(2026, 1, 27)
ORIGINAL_RESOLUTION_AT = datetime(2025, 10, 15, 16, 0)
LATE_RESOLUTION_AT = datetime(2026, 1, 22, 18, 0)

TEAMS = (
    "ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW", "HOU", "IND", "LAC", "LAL", "MEM",
    "MIA", "MIL", "MIN", "NOP", "NYK", "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR", "UTA", "WAS",
)
ROLES = ("rotation",) * 9 + ("bench",) * 3 + ("reserve",) * 5
NAMED_PLAYERS = {
    "LAL": (("LeBron James", "original"), ("Anthony Davis", "late"), ("Austin Reaves", "late")),
    "MIL": (("Damian Lillard", "late"),),
}
FIRST_NAMES = (
    "Aaron", "Andre", "Bennett", "Brandon", "Caleb", "Cameron", "Cole", "Darius", "Dillon", "Eli", "Ethan",
    "Isaiah", "Jalen", "Jamal", "Jaylen", "Jordan", "Julian", "Keegan", "Kevin", "Kris", "Luke", "Malik",
    "Marcus", "Mason", "Miles", "Nate", "Noah", "Omar", "Quentin", "Reggie", "Sam", "Tariq", "Trey", "Tyler",
)
LAST_NAMES = (
    "Adams", "Bates", "Brooks", "Carter", "Collins", "Diallo", "Edwards", "Ellis", "Fields", "Ford", "Graves",
    "Hardy", "Hayes", "Irving", "Jackson", "Keller", "Lane", "Lowe", "Mann", "Mercer", "Nance", "Owens",
    "Parker", "Price", "Quinn", "Reed", "Rhodes", "Sims", "Stone", "Turner", "Vance", "Walker", "Young",
)

# Games per date where the incident's figures depend on it; other dates draw 6-10 games.
GAMES_PER_DATE = {15: 10, 22: 10, 25: 7, 26: 6, 27: 7}
# Distinct raw players the incident reports for these dates.
RAW_PLAYER_TARGETS = {date(2026, 1, 15): 316, date(2026, 1, 22): 282}
JAN15_UNRESOLVED_TARGET = 115
START_TIMES_ET = (time(19, 0), time(19, 0), time(19, 30), time(20, 0), time(21, 0), time(22, 0), time(22, 30),
                  time(19, 30), time(20, 30), time(22, 0))
UTC_OFFSET_ET = timedelta(hours=5)


@dataclass
class Player:
    lookup: str
    name: str
    team: str
    role: str
    status: str = "original"
    minutes_base: float = 0.0
    scoring_rate: float = 0.0


@dataclass
class Game:
    game_date: date
    away: str
    home: str
    start_utc: datetime

    @property
    def game_id(self) -> str:
        return f"{self.game_date:%Y%m%d}_{self.away}_{self.home}"


@dataclass
class League:
    players: list[Player]
    games: list[Game]
    boxscores: dict[tuple[date, str, str], dict[str, tuple]] = field(default_factory=dict)

    def players_on(self, game_date: date) -> set[str]:
        return {lookup for (day, _, _), lines in self.boxscores.items() if day == game_date for lookup in lines}


def to_lookup(name: str) -> str:
    """Return the pipeline's player_lookup key: the name in lower case without spaces or punctuation."""
    return "".join(character for character in name.lower() if character.isalnum())


def build_league(seed: int = SEED) -> League:
    """Generate the whole league deterministically from ``seed``."""
    rng = random.Random(seed)
    players = build_rosters(rng)
    games = build_schedule(rng)
    league = League(players=players, games=games)
    by_lookup = {player.lookup: player for player in players}

    for game in games:
        if game.game_date < INCIDENT_DATE:
            for team in (game.away, game.home):
                league.boxscores[(game.game_date, game.game_id, team)] = play_game(rng, players, team, game)

    for game_date, target in RAW_PLAYER_TARGETS.items():
        match_raw_player_count(rng, league, game_date, target)
    match_unresolved_count(rng, league, by_lookup)
    return league


def build_rosters(rng: random.Random) -> list[Player]:
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    players: list[Player] = []
    for team in TEAMS:
        named = list(NAMED_PLAYERS.get(team, ()))
        roster: list[Player] = []
        for role in ROLES:
            if named and role == "rotation":
                name, status = named.pop(0)
            else:
                name, status = names.pop(), "original"
            roster.append(Player(to_lookup(name), name, team, role, status))
        assign_statuses(rng, roster)
        for player in roster:
            player.minutes_base, player.scoring_rate = draw_skill(rng, player.role)
        players.extend(roster)
    return players


def assign_statuses(rng: random.Random, roster: list[Player]) -> None:
    reserves = [player for player in roster if player.role == "reserve"]
    for player in rng.sample(reserves, rng.choice((1, 2))):
        player.status = "never"
    open_players = [player for player in roster if player.status == "original" and player.lookup != "lebronjames"]
    already_late = sum(player.status == "late" for player in roster)
    for player in rng.sample(open_players, max(0, 5 - already_late)):
        player.status = "late"


def draw_skill(rng: random.Random, role: str) -> tuple[float, float]:
    if role == "rotation":
        return rng.uniform(20, 36), rng.uniform(0.35, 0.8)
    if role == "bench":
        return rng.uniform(5, 14), rng.uniform(0.3, 0.5)
    return rng.uniform(2, 6), rng.uniform(0.2, 0.4)


def build_schedule(rng: random.Random) -> list[Game]:
    games: list[Game] = []
    played = {team: 0 for team in TEAMS}
    day = FIRST_GAME_DATE
    while day <= INCIDENT_DATE:
        count = GAMES_PER_DATE.get(day.day, rng.randint(6, 10))
        teams = sorted(TEAMS, key=lambda team: (played[team], rng.random()))[: 2 * count]
        rng.shuffle(teams)
        for index in range(count):
            away, home = teams[2 * index], teams[2 * index + 1]
            start = datetime.combine(day, START_TIMES_ET[index]) + UTC_OFFSET_ET
            games.append(Game(day, away, home, start))
            played[away] += 1
            played[home] += 1
        day += timedelta(days=1)
    return games


def play_game(rng: random.Random, players: list[Player], team: str, game: Game) -> dict[str, tuple]:
    """Return one team's box score lines, keyed by player_lookup: (minutes, points, fga, fta, turnovers)."""
    lines: dict[str, tuple] = {}
    for player in players:
        if player.team != team:
            continue
        if player.role == "rotation":
            if rng.random() < 0.05:
                continue
            lines[player.lookup] = stat_line(rng, player, minutes=min(44.0, max(8.0, rng.gauss(player.minutes_base, 4))))
        elif player.role == "bench":
            played = rng.random() < 0.45
            lines[player.lookup] = stat_line(rng, player, minutes=rng.uniform(2, 14)) if played else DNP_LINE
        elif rng.random() < 0.75:
            played = rng.random() < 0.1
            lines[player.lookup] = stat_line(rng, player, minutes=rng.uniform(1, 5)) if played else DNP_LINE
    return lines


DNP_LINE = ("00", 0, 0, 0, 0)


def stat_line(rng: random.Random, player: Player, *, minutes: float) -> tuple:
    seconds = int(minutes * 60)
    points = max(0, round(minutes * player.scoring_rate + rng.gauss(0, 3)))
    attempts = max(0, round(minutes * 0.38 + rng.gauss(0, 2)))
    free_throws = max(0, round(points * 0.18 + rng.gauss(0, 1)))
    turnovers = max(0, round(minutes * 0.06 + rng.gauss(0, 0.8)))
    return (f"{seconds // 60}:{seconds % 60:02d}", points, attempts, free_throws, turnovers)


def _bounded(goal: str, target: int) -> "_Attempts":
    """Return the attempts a seeding loop may take; running out raises instead of spinning forever."""
    return _Attempts(goal, 1000 * max(target, 1))


class _Attempts:
    def __init__(self, goal: str, limit: int) -> None:
        self.goal, self.limit = goal, limit

    def __iter__(self):
        yield from range(self.limit)
        raise RuntimeError(f"seeding could not reach the figure for {self.goal} in {self.limit} attempts")


def match_raw_player_count(rng: random.Random, league: League, game_date: date, target: int) -> None:
    """Add or drop DNP reserves on ``game_date`` until the distinct raw players equal ``target``."""
    keys = sorted(key for key in league.boxscores if key[0] == game_date)
    by_team = {team: [player for player in league.players if player.team == team] for team in TEAMS}
    if game_date == date(2026, 1, 22):
        never = {player.lookup for player in league.players if player.status == "never"}
        for key in keys:
            for lookup in never & league.boxscores[key].keys():
                del league.boxscores[key][lookup]

    for _attempt in _bounded(f"raw players on {game_date}", target):
        if len(league.players_on(game_date)) >= target:
            break
        key = rng.choice(keys)
        absent = [
            player for player in by_team[key[2]]
            if player.lookup not in league.boxscores[key] and not (game_date.day == 22 and player.status == "never")
        ]
        if absent:
            league.boxscores[key][rng.choice(absent).lookup] = DNP_LINE
    for _attempt in _bounded(f"raw players on {game_date}", target):
        if len(league.players_on(game_date)) <= target:
            break
        key = rng.choice(keys)
        idle = [lookup for lookup, line in league.boxscores[key].items() if line == DNP_LINE]
        if idle:
            del league.boxscores[key][rng.choice(idle)]


def match_unresolved_count(rng: random.Random, league: League, by_lookup: dict[str, Player]) -> None:
    """Flip original and late statuses among Jan 15 players until exactly the reported number were unresolved."""
    on_jan15 = sorted(league.players_on(date(2026, 1, 15)))
    named = {to_lookup(name) for roster in NAMED_PLAYERS.values() for name, _ in roster}
    for _attempt in _bounded("unresolved players on 2026-01-15", JAN15_UNRESOLVED_TARGET):
        unresolved = sum(by_lookup[lookup].status != "original" for lookup in on_jan15)
        if unresolved == JAN15_UNRESOLVED_TARGET:
            return
        wanted, replacement = ("original", "late") if unresolved < JAN15_UNRESOLVED_TARGET else ("late", "original")
        candidates = [lookup for lookup in on_jan15 if by_lookup[lookup].status == wanted and lookup not in named]
        by_lookup[rng.choice(candidates)].status = replacement
