"""The library's entry points: a study, a worker, a sweep or a promotion as one call, reporting through observers."""
