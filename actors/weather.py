"""Outdoor weather, hour by hour: what drives demand, heat rules and the air conditioning."""

from __future__ import annotations

from dataclasses import dataclass

from actors.actor import Actor
from actors.message import NextHour, WeatherChanged
from actors.port import Port


@dataclass(frozen=True, slots=True)
class WeatherConfig:
    temp_c: tuple[float, ...]
    """Outdoor temperature for each hour from midnight of the start date; the last day repeats."""
    rain: tuple[bool, ...]
    observers: tuple[str, ...] = ()


class Weather(Actor):
    kind = "weather"

    def __init__(self, actor_id: str, port: Port, config: WeatherConfig) -> None:
        super().__init__(actor_id, port)
        if not config.temp_c or len(config.temp_c) % 24 or len(config.rain) != len(config.temp_c):
            raise ValueError("weather needs whole days of hourly temperature and rain")
        self.config = config

    def hour_index(self, t: float) -> int:
        clock = self.port.clock
        index = clock.day_index(t) * 24 + int(clock.hour_of_day(t))
        hours = len(self.config.temp_c)
        return index if index < hours else hours - 24 + index % 24

    def start(self) -> None:
        self._announce()

    def receive(self, message: object) -> None:
        if isinstance(message, NextHour):
            self._announce()
        else:
            super().receive(message)

    def _announce(self) -> None:
        now = self.port.now()
        index = self.hour_index(now)
        day = index - index % 24
        changed = WeatherChanged(
            temp_c=self.config.temp_c[index],
            rain=self.config.rain[index],
            day_max_c=max(self.config.temp_c[day : day + 24]),
        )
        self.port.publish({"temp_c": changed.temp_c, "rain": changed.rain, "day_max_c": changed.day_max_c})
        for observer in self.config.observers:
            self.port.send(observer, changed)
        self.at_next_hour(NextHour())
