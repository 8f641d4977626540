"""Netflix Prize files (being written)."""


def read_netflix(source, strict=False):
    raise NotImplementedError
