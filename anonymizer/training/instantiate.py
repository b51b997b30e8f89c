"""Instantiate lists of callbacks and loggers from Hydra config groups."""

from __future__ import annotations

import logging

import hydra
from lightning import Callback
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def _instantiate_group(cfg: DictConfig | None, kind: type, what: str) -> list:
    objects = []
    if not cfg:
        return objects
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"the {what} config must be a mapping of name -> config")
    for name, conf in cfg.items():
        if conf is None:
            continue
        if not isinstance(conf, DictConfig) or "_target_" not in conf:
            raise TypeError(f"{what}.{name} has no _target_")
        obj = hydra.utils.instantiate(conf)
        if not isinstance(obj, kind):
            raise TypeError(f"{what}.{name} built a {type(obj).__name__}, not a {kind.__name__}")
        log.info("Instantiated %s.%s <%s>", what, name, conf._target_)
        objects.append(obj)
    return objects


def instantiate_callbacks(cfg: DictConfig | None) -> list[Callback]:
    """Every entry of the ``callbacks`` group that is not null."""
    return _instantiate_group(cfg, Callback, "callbacks")


def instantiate_loggers(cfg: DictConfig | None) -> list[Logger]:
    """Every entry of the ``logger`` group that is not null."""
    return _instantiate_group(cfg, Logger, "logger")
