print("allot")
