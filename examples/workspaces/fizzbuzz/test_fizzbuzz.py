from fizzbuzz import fizzbuzz


def test_multiples_of_three_and_five() -> None:
    assert fizzbuzz(15) == "FizzBuzz"
    assert fizzbuzz(30) == "FizzBuzz"


def test_multiples_of_three() -> None:
    assert fizzbuzz(3) == "Fizz"
    assert fizzbuzz(9) == "Fizz"


def test_multiples_of_five() -> None:
    assert fizzbuzz(5) == "Buzz"
    assert fizzbuzz(10) == "Buzz"


def test_other_numbers() -> None:
    assert fizzbuzz(1) == "1"
    assert fizzbuzz(7) == "7"
