"""
Copyright (c) Meta Platforms, Inc. and affiliates.

MLGym's blotto evaluation, adapted for the copilot suite (lines marked "copilot suite"): the random generators are
seeded before the simulation, so that one strategy always gets the same score, and the score is written to
results.json and printed as a METRIC line.
"""

import json
import random
from pathlib import Path  # copilot suite

import numpy as np
from strategy import row_strategy
from target import target_column_strategy


def calculate_payoffs(strategy1, strategy2):
    """Calculate payoffs for the Colonel Blotto game."""
    row_player_wins = 0
    column_player_wins = 0
    for soldiers1, soldiers2 in zip(strategy1, strategy2):
        if soldiers1 > soldiers2:
            row_player_wins += 1
        elif soldiers1 < soldiers2:
            column_player_wins += 1
    if row_player_wins > column_player_wins:
        return 1, -1
    elif row_player_wins < column_player_wins:
        return -1, 1
    else:
        return 0, 0

def validate_strategy(strategy):
    """Validate the strategy to ensure no more than 120 soldiers and all non-negative integers."""
    if not all(isinstance(x, int) and x >= 0 for x in strategy):
        raise ValueError("All allocations must be non-negative integers.")
    if sum(strategy) > 120:
        raise ValueError("Total number of soldiers must not exceed 120.")
    return True

def game_payoffs(strategy_row, strategy_col):
    """Get game payoff for given strategies."""
    validate_strategy(strategy_row)
    validate_strategy(strategy_col)
    return calculate_payoffs(strategy_row, strategy_col)

def run_iterated_game(rounds, row_strategy_func, col_strategy_func):
    """Run iterated contest for given number of rounds with specified iterated strategy functions."""
    history = []
    for _ in range(rounds):
        next_move_row = row_strategy_func(history)
        next_move_col = col_strategy_func(history)
        history.append((next_move_row, next_move_col))
    return history

def compute_overall_scores(history):
    """Compute final scores for both sides."""
    result_game_payoffs = [game_payoffs(strat_profile[0], strat_profile[1]) for strat_profile in history]
    row_payoffs = [payoff_tupp[0] for payoff_tupp in result_game_payoffs]
    col_payoffs = [payoff_tupp[1] for payoff_tupp in result_game_payoffs]
    np_row_payoffs = np.asarray(row_payoffs, dtype=np.float32)
    np_col_payoffs = np.asarray(col_payoffs, dtype=np.float32)
    return np.mean(np_row_payoffs), np.mean(np_col_payoffs)

def simulation_mean_scores(row_strategy_func, col_strategy_func, num_rounds, num_simulations):
    """Run Monte-Carlo simulation, return mean score estimates."""
    row_scores = []
    col_scores = []
    for _ in range(num_simulations):
        final_history = run_iterated_game(num_rounds, row_strategy_func, col_strategy_func)
        row_score, col_score = compute_overall_scores(final_history)
        row_scores.append(row_score)
        col_scores.append(col_score)
    np_row_scores = np.asarray(row_scores, dtype=np.float32)
    np_col_scores = np.asarray(col_scores, dtype=np.float32)
    row_mean = np.mean(np_row_scores)
    col_mean = np.mean(np_col_scores)
    return row_mean, col_mean

def evaluate():
    random.seed(0)  # copilot suite
    np.random.seed(0)  # copilot suite
    row_score, _ = simulation_mean_scores(row_strategy, target_column_strategy, 10, 10000)
    metrics = {"Score": float(row_score)}
    print(json.dumps(metrics))
    Path("results.json").write_text(json.dumps({"metric": "score", "value": float(row_score)}) + "\n")  # copilot suite
    print(f"METRIC score={float(row_score):.6f}")  # copilot suite

evaluate()
