def main():
    print("demonloop: not yet")
