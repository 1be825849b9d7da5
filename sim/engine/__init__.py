"""When things happen: the entities, the availability index, drawing clients and therapists, the
behaviour rules, the recorder of tables, the SimPy model, and the policies it consults (what is decided)."""
