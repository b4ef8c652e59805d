"""Order promising (issue 14): time-phased ATP, allocation by demand class, capable-to-promise.

Pure: values in, values out; no I/O and no clock (the as-of date is an argument). See
docs/promising.md for the model and a worked example of every option.
"""
