from streams.samples import write_sample

print(f"wrote {write_sample()}")
