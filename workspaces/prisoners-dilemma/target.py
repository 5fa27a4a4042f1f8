"""
Copyright (c) Meta Platforms, Inc. and affiliates.
"""

import random


def simple_random_column_strategy(history):
    """
    Example function to select the next strategy for a column player given history. 
    Parameters:
    history (list of tuple): A list where each tuple contains the strategies used by the row and column players in previous turns.
                             Each tuple is of the form (strategy_row, strategy_col).

    Returns:
    int: The next strategy for the column player (0 or 1).
    """
    if not history: # If there's no history, start with a default strategy (choose 1, defect)
        return 1        
    last_round = history[-1]
    rnum = random.random()
    if rnum < 0.3333:  # cooperate with prob 1/3
        return 0
    elif rnum < 0.5:  # defect with prob 1/2 - 1/3 = 1/6 
        return 1
    elif rnum < 0.9:  # copy opponent
        next_strategy_row = last_round[1]  
    else:  # flip past action
        next_strategy_row = 1 - last_round[0]
    return next_strategy_row

def tit_for_tat(history):
    if not history:
        return 0  # Start with cooperation
    return history[-1][0]  # Copy the opponent's last move

def always_cooperate(history):
    return 0  # Always cooperate

def always_defect(history):
    return 1  # Always defect

def random_strategy(history):
    return random.choice([0, 1])  # Randomly choose between cooperate and defect

def grim_trigger(history):
    if not history:
        return 0  # Start with cooperation
    if any(move[0] == 1 for move in history):
        return 1  # Defect forever if the opponent has ever defected
    return 0  # Otherwise, cooperate

# Additional Strategies

def pavlov(history):
    if not history:
        return 0  # Start with cooperation
    last_round = history[-1]
    if last_round[0] == last_round[1]:
        return 0  # Cooperate if both players did the same last round
    return 1  # Otherwise, defect

def tit_for_two_tats(history):
    if len(history) < 2:
        return 0  # Start with cooperation
    if history[-1][0] == 1 and history[-2][0] == 1:
        return 1  # Defect if the opponent defected in the last two rounds
    return 0  # Otherwise, cooperate

def suspicious_tit_for_tat(history):
    if not history:
        return 1  # Start with defection
    return history[-1][0]  # Copy the opponent's last move

def random_cooperate(history):
    return 0 if random.random() < 0.5 else 1  # Cooperate with 50% probability

def forgiving_tit_for_tat(history):
    if not history:
        return 0  # Start with cooperation
    if len(history) >= 2 and history[-1][0] == 1 and history[-2][0] == 1:
        return 0  # Forgive after two defections
    return history[-1][0]  # Otherwise, copy the opponent's last move

def target_column_strategy(history):
    strategies = [
        simple_random_column_strategy, tit_for_tat, always_cooperate, always_defect, 
        random_strategy, grim_trigger, pavlov, tit_for_two_tats, 
        suspicious_tit_for_tat, random_cooperate, forgiving_tit_for_tat
    ]
    chosen_strategy = random.choice(strategies)
    return chosen_strategy(history)

