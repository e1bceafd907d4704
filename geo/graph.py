def graph_status() -> dict[str, object]:
    return {"loaded": False}
