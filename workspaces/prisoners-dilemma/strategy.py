"""
Copyright (c) Meta Platforms, Inc. and affiliates.
"""

import random


# NOTE: This is an example strategy, you should modify it to implement your own strategy. However, DO NOT change the function signature.
def row_strategy(history):
    """
    Example function to select the next strategy for the row player based on the history of previous turns.
    Parameters:
    history (list of tuple): A list where each tuple contains the strategies used by the row and column players in previous turns.
                             Each tuple is of the form (strategy_row, strategy_col).
    Returns:
    int: The next strategy for the row player (0 or 1).
    """
    if not history:  # start by coin flip
        if random.random() < 0.5:
            return 0
        return 1

    last_round = history[-1]
    rnum = random.random()   
    did_other_cooperate = last_round[1]
    if did_other_cooperate > 0:  # other cooperated 
        if rnum < 0.75:  # cooeprate with prob 1/3
            return 1
        elif rnum < 0.9:  
            return last_round[0]
        return 0
    else:  # other defected 
        if rnum < 0.6:  # cooeprate with prob 1/3
            return 0
        elif rnum < 0.9:  
            return last_round[0]
        return 1