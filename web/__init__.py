"""The web view: operators watch and steer the live station; planners run what-ifs (FastAPI)."""
