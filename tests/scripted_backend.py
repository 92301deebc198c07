"""Base for test model backends: loads nothing; a subclass scripts `generate`."""


class ScriptedBackend:
    name = "scripted"

    def load(self, timeout):
        return {}

    def describe(self):
        return {"backend": self.name}

    def close(self):
        pass
